package org.teekms.kms.custody;

import java.math.BigInteger;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.teekms.crypto.Bytes;
import org.teekms.crypto.Digests;
import org.teekms.custody.CustodyException;
import org.teekms.custody.RecipientKey;
import org.teekms.governance.ChainClient;
import org.teekms.governance.GovernanceException;
import org.teekms.governance.RootCustody;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.methods.response.EthBlock;

/**
 * {@link CustodyChainPort} on the chain: the RootCustody contract read through every configured RPC
 * endpoint ({@code teekms.chain.rpc-urls}) at one block, head − confirmations of the first endpoint
 * that answers, named by its hash (EIP-1898) so that all reads of one answer see one state. The
 * custodian set decides who can recover every root, so one lying endpoint must not pick it: at
 * least {@code quorum} endpoints must answer, and any two different answers (block hash included)
 * refuse ({@link CustodyUnavailable}).
 *
 * <p>Checks of the custodian set, in order: the ids list reads; each custodian reads; inactive ones
 * are skipped; the key's SHA-256 equals its id (the contract computes it; a lying endpoint might
 * not); the key decodes as a P-256 point (docs/root-custody.md §3.1).
 */
public final class ChainCustody implements CustodyChainPort {

  private final List<ChainClient> endpoints;
  private final List<String> names;
  private final int quorum;
  private final String address;
  private final int confirmations;

  public ChainCustody(
      List<ChainClient> endpoints,
      List<String> names,
      int quorum,
      String address,
      int confirmations) {
    if (endpoints.isEmpty()
        || quorum < 1
        || quorum > endpoints.size()
        || names.size() != endpoints.size()) {
      throw new IllegalArgumentException("need 1 ≤ quorum ≤ endpoints, one name per endpoint");
    }
    this.endpoints = List.copyOf(endpoints);
    this.names = List.copyOf(names);
    this.quorum = quorum;
    this.address = address;
    this.confirmations = confirmations;
  }

  @Override
  public CustodianSet activeCustodians() {
    Answer<List<RecipientKey>> a =
        quorumRead(
            "the custodian set",
            custody -> {
              List<RecipientKey> keys = new ArrayList<>();
              for (byte[] id : custody.custodianIds()) {
                RootCustody.Custodian c = custody.custodian(id);
                if (!c.active()) continue;
                if (!MessageDigest.isEqual(Digests.sha256(c.publicKey().toByteArray()), id)) {
                  throw new CustodyUnavailable(
                      "custodian 0x"
                          + HexFormat.of().formatHex(id)
                          + " is answered with a key whose "
                          + "SHA-256 is not its id");
                }
                try {
                  keys.add(RecipientKey.decode(c.publicKey().toByteArray()));
                } catch (CustodyException e) {
                  throw new CustodyUnavailable(
                      "custodian 0x" + HexFormat.of().formatHex(id) + ": " + e.getMessage());
                }
              }
              return keys;
            },
            keys ->
                String.join(
                    ",", keys.stream().map(k -> HexFormat.of().formatHex(k.encode())).toList()));
    return new CustodianSet(a.value(), a.block());
  }

  @Override
  public Optional<RootCustody.Backup> publishedBackup(int generation) {
    return quorumRead(
            "the backup of generation " + generation,
            custody ->
                custody.generations().contains((long) generation)
                    ? Optional.of(custody.backup(generation))
                    : Optional.<RootCustody.Backup>empty(),
            b -> b.map(ChainCustody::fingerprint).orElse("none"))
        .value();
  }

  @Override
  public Optional<RecipientKey> custodianKey(byte[] id) {
    String name = "custodian 0x" + HexFormat.of().formatHex(id);
    return quorumRead(
            name,
            custody -> {
              RootCustody.Custodian c = custody.custodian(id);
              if (c.publicKey().isEmpty()) return Optional.<RecipientKey>empty();
              if (!MessageDigest.isEqual(Digests.sha256(c.publicKey().toByteArray()), id)) {
                throw new CustodyUnavailable(
                    name + " is answered with a key whose SHA-256 is not its id");
              }
              try {
                return Optional.of(RecipientKey.decode(c.publicKey().toByteArray()));
              } catch (CustodyException e) {
                throw new CustodyUnavailable(name + ": " + e.getMessage());
              }
            },
            k -> k.map(key -> HexFormat.of().formatHex(key.encode())).orElse("none"))
        .value();
  }

  @Override
  public RootCustody.Authorization recoveryAuthorization(
      byte[] requestId, int generation, byte[] nodeKeyId) {
    return quorumRead(
            "the recovery authorization 0x" + HexFormat.of().formatHex(requestId),
            custody -> custody.isRecoveryAuthorized(requestId, generation, nodeKeyId),
            a -> a.authorized() + "/" + a.reason())
        .value();
  }

  static String fingerprint(RootCustody.Backup b) {
    return b.generation()
        + "/"
        + b.threshold()
        + "/"
        + b.commitments().hex()
        + "/"
        + String.join(",", b.custodianIds().stream().map(Bytes::hex).toList())
        + "/"
        + String.join(",", b.envelopeDigests().stream().map(Bytes::hex).toList())
        + "/"
        + b.publishedAtBlock();
  }

  interface Read<T> {
    T apply(RootCustody custody) throws GovernanceException;
  }

  record Answer<T>(T value, long block) {}

  private <T> Answer<T> quorumRead(
      String what, Read<T> read, java.util.function.Function<T, String> fingerprint) {
    long number = -1;
    List<String> failures = new ArrayList<>();
    for (int i = 0; i < endpoints.size() && number < 0; i++) {
      try {
        number = Math.max(0, endpoints.get(i).blockNumber() - confirmations);
      } catch (GovernanceException | RuntimeException e) {
        failures.add(names.get(i) + ": " + e.getMessage());
      }
    }
    if (number < 0)
      throw new CustodyUnavailable("reading " + what + ": no RPC endpoint answered " + failures);
    String agreed = null;
    T value = null;
    int answered = 0;
    for (int i = 0; i < endpoints.size(); i++) {
      ChainClient chain = endpoints.get(i);
      String hash;
      T v;
      try {
        long n = number;
        EthBlock.Block block =
            chain
                .block(DefaultBlockParameter.valueOf(BigInteger.valueOf(n)))
                .orElseThrow(() -> new CustodyUnavailable("no block " + n));
        hash = block.getHash();
        v = read.apply(RootCustody.at(chain, address, null).atBlockHash(hash));
      } catch (GovernanceException | RuntimeException e) {
        failures.add(names.get(i) + ": " + e.getMessage());
        continue;
      }
      String print = hash + "|" + fingerprint.apply(v);
      if (agreed != null && !agreed.equals(print)) {
        throw new CustodyUnavailable(
            "reading "
                + what
                + " at block "
                + number
                + ": RPC endpoints answered "
                + "differently ("
                + names.get(0)
                + " and "
                + names.get(i)
                + " disagree); one of them lies: refused");
      }
      agreed = print;
      value = v;
      answered++;
    }
    if (answered < quorum) {
      throw new CustodyUnavailable(
          "reading "
              + what
              + " at block "
              + number
              + ": "
              + answered
              + " of "
              + endpoints.size()
              + " RPC endpoints answered, "
              + quorum
              + " needed "
              + failures);
    }
    return new Answer<>(value, number);
  }
}
