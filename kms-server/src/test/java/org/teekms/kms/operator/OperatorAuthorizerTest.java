package org.teekms.kms.operator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.teekms.keys.AppId;
import org.teekms.proto.OperatorRequest;
import org.teekms.proto.OperatorRequestMessage;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.Sign;

/**
 * The signed-request checks without chain or database: message bytes, domain, freshness, signature,
 * owner.
 */
class OperatorAuthorizerTest {

  private static final Credentials OWNER =
      Credentials.create("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318");
  private static final Credentials OTHER =
      Credentials.create("0x8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f");
  private static final String REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
  private static final long NOW = 1_795_000_000_000L;
  private static final Clock CLOCK = Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC);

  static OperatorAuthorizer authorizer(RegistryOwnerPort owner) {
    return new OperatorAuthorizer("kms-a", 31337, REGISTRY, owner, CLOCK, Duration.ofMinutes(5));
  }

  static RegistryOwnerPort ownedBy(Credentials c) {
    return new RegistryOwnerPort() {
      @Override
      public OwnerRead owner() {
        return new OwnerRead(c.getAddress(), false, 7, "0xabc", null);
      }

      @Override
      public AppVersionsRead appVersions(AppId appId, String blockHash) {
        return new AppVersionsRead(3, 2, null);
      }

      @Override
      public ContractSignatureRead isValidSignature(
          String contract, byte[] digest, byte[] signature, String blockHash) {
        throw new AssertionError("an EOA owner is never asked for EIP-1271");
      }
    };
  }

  /** A contract owner whose isValidSignature answers {@code answer}; records what it was asked. */
  static final class ContractOwner implements RegistryOwnerPort {
    final ContractSignatureRead answer;
    byte[] askedDigest;
    byte[] askedSignature;
    String askedBlock;
    String askedContract;

    ContractOwner(ContractSignatureRead.Outcome outcome) {
      this.answer = new ContractSignatureRead(outcome, "contract said " + outcome);
    }

    @Override
    public OwnerRead owner() {
      return new OwnerRead(WALLET, true, 9, "0xb10c", null);
    }

    @Override
    public AppVersionsRead appVersions(AppId appId, String blockHash) {
      return new AppVersionsRead(3, 2, null);
    }

    @Override
    public ContractSignatureRead isValidSignature(
        String contract, byte[] digest, byte[] signature, String blockHash) {
      askedContract = contract;
      askedDigest = digest;
      askedSignature = signature;
      askedBlock = blockHash;
      return answer;
    }
  }

  private static final String WALLET = "0x" + "77".repeat(20);

  static OperatorRequest unsigned(long timestamp) {
    byte[] nonce = new byte[32];
    Arrays.fill(nonce, (byte) 0x5a);
    return OperatorRequest.newBuilder()
        .setAction("ROTATE_ROOT")
        .setKmsId("kms-a")
        .setChainId(31337)
        .setRegistry(REGISTRY)
        .setTimestampMillis(timestamp)
        .setNonce(ByteString.copyFrom(nonce))
        .build();
  }

  static OperatorRequest sign(OperatorRequest r, Credentials key) {
    Sign.SignatureData s =
        Sign.signPrefixedMessage(OperatorRequestMessage.bytes(r), key.getEcKeyPair());
    byte[] rsv = new byte[65];
    System.arraycopy(s.getR(), 0, rsv, 0, 32);
    System.arraycopy(s.getS(), 0, rsv, 32, 32);
    rsv[64] = s.getV()[0];
    return r.toBuilder().setSignature(ByteString.copyFrom(rsv)).build();
  }

  static OperatorDenied.Code deniedCode(OperatorAuthorizer a, OperatorRequest r) {
    return assertThrows(OperatorDenied.class, () -> a.authorize(r)).code();
  }

  @Test
  void messageTextIsTheDocumentedVector() {
    String expected =
        "tee-kms operator request v1\naction: ROTATE_ROOT\nkms-id: kms-a\nchain-id: 31337\n"
            + "registry: 0x5fbdb2315678afecb367f032d93f642f64180aa3\ntimestamp: 1795000000000\nnonce: "
            + "5a".repeat(32);
    assertArrayEquals(
        expected.getBytes(StandardCharsets.UTF_8), OperatorRequestMessage.bytes(unsigned(NOW)));
  }

  @Test
  void digestIsTheDocumentedVector() {
    // docs/governance.md "Operator requests from contract owners": EIP-191 hash of the vector text
    // above.
    assertEquals(
        "014d9c66613bb074b84e5f31762c963baaa758172c2ab4e2f47ae8cb9fd29536",
        HexFormat.of().formatHex(OperatorRequestMessage.digest(unsigned(NOW))));
    assertArrayEquals(
        Sign.getEthereumMessageHash(OperatorRequestMessage.bytes(unsigned(NOW))),
        OperatorRequestMessage.digest(unsigned(NOW)),
        "the same hash personal_sign signs");
  }

  @Test
  void eip1271CalldataIsTheDocumentedVector() {
    byte[] digest = OperatorRequestMessage.digest(unsigned(NOW));
    byte[] sig = new byte[65];
    Arrays.fill(sig, (byte) 0x11);
    String expected =
        "0x1626ba7e"
            + HexFormat.of().formatHex(digest)
            + "0".repeat(62)
            + "40"
            + "0".repeat(62)
            + "41"
            + "11".repeat(65)
            + "00".repeat(31);
    assertEquals(expected, ChainRegistryOwner.eip1271Call(digest, sig));
    assertEquals(4 + 32 * 3 + 96, (expected.length() - 2) / 2);
    assertThrows(
        IllegalArgumentException.class, () -> ChainRegistryOwner.eip1271Call(new byte[31], sig));
  }

  @Test
  void contractOwnerIsAskedForTheDigestAtTheOwnersBlock() throws Exception {
    ContractOwner wallet = new ContractOwner(RegistryOwnerPort.ContractSignatureRead.Outcome.VALID);
    byte[] sig = new byte[130];
    Arrays.fill(sig, (byte) 3);
    OperatorRequest r = unsigned(NOW).toBuilder().setSignature(ByteString.copyFrom(sig)).build();
    OperatorAuthorizer.Authorized ok = authorizer(wallet).authorize(r);
    assertEquals(WALLET, ok.signer());
    assertEquals(OperatorAuthorizer.Scheme.EIP1271, ok.scheme());
    assertEquals(9, ok.ownerBlock());
    assertEquals(
        "0xb10c", wallet.askedBlock, "isValidSignature is read at the block the owner was read at");
    assertEquals(WALLET, wallet.askedContract);
    assertArrayEquals(OperatorRequestMessage.digest(r), wallet.askedDigest);
    assertArrayEquals(sig, wallet.askedSignature);
    assertEquals(
        OperatorAuthorizer.Scheme.EIP191,
        authorizer(ownedBy(OWNER)).authorize(sign(unsigned(NOW), OWNER)).scheme());
  }

  @Test
  void contractOwnerRefusalsAreDeniedWithTheirReason() {
    OperatorRequest r =
        unsigned(NOW).toBuilder().setSignature(ByteString.copyFrom(new byte[65])).build();
    OperatorDenied rejected =
        assertThrows(
            OperatorDenied.class,
            () ->
                authorizer(
                        new ContractOwner(RegistryOwnerPort.ContractSignatureRead.Outcome.REJECTED))
                    .authorize(r));
    assertEquals(OperatorDenied.Code.CONTRACT_REJECTED, rejected.code());
    assertTrue(
        rejected.detail().contains("contract said REJECTED") && rejected.detail().contains(WALLET),
        rejected.detail());
    assertEquals(
        OperatorDenied.Code.CHAIN_UNAVAILABLE,
        deniedCode(
            authorizer(
                new ContractOwner(RegistryOwnerPort.ContractSignatureRead.Outcome.UNAVAILABLE)),
            r));
    ContractOwner never = new ContractOwner(RegistryOwnerPort.ContractSignatureRead.Outcome.VALID);
    assertEquals(
        OperatorDenied.Code.BAD_SIGNATURE,
        deniedCode(authorizer(never), unsigned(NOW)),
        "empty signature");
    assertEquals(
        OperatorDenied.Code.BAD_SIGNATURE,
        deniedCode(
            authorizer(never),
            unsigned(NOW).toBuilder()
                .setSignature(
                    ByteString.copyFrom(new byte[OperatorAuthorizer.MAX_CONTRACT_SIGNATURE + 1]))
                .build()),
        "oversized");
    assertEquals(null, never.askedDigest, "a malformed signature is not sent to the chain");
    // Domain and freshness are checked before the contract is asked, exactly as for an EOA owner.
    assertEquals(
        OperatorDenied.Code.STALE,
        deniedCode(authorizer(never), r.toBuilder().setTimestampMillis(NOW - 301_000).build()));
    assertEquals(
        OperatorDenied.Code.WRONG_DOMAIN,
        deniedCode(authorizer(never), r.toBuilder().setChainId(1).build()));
    // An EOA owner gets no EIP-1271 path: a long signature is just malformed, and the denial says
    // why.
    OperatorDenied eoa =
        assertThrows(
            OperatorDenied.class,
            () ->
                authorizer(ownedBy(OWNER))
                    .authorize(
                        unsigned(NOW).toBuilder()
                            .setSignature(ByteString.copyFrom(new byte[130]))
                            .build()));
    assertEquals(OperatorDenied.Code.BAD_SIGNATURE, eoa.code());
    assertTrue(eoa.detail().contains("has no contract code"), eoa.detail());
  }

  @Test
  void syncAppMessageNamesTheApp() throws Exception {
    byte[] app = new byte[20];
    app[19] = 0x42;
    OperatorRequest r =
        unsigned(NOW).toBuilder().setAction("SYNC_APP").setAppId(ByteString.copyFrom(app)).build();
    String text = new String(OperatorRequestMessage.bytes(r), StandardCharsets.UTF_8);
    assertTrue(
        text.contains(
            "\nregistry: 0x5fbdb2315678afecb367f032d93f642f64180aa3\napp: 0x"
                + "00".repeat(19)
                + "42\n"),
        text);
    OperatorAuthorizer a = authorizer(ownedBy(OWNER));
    assertEquals(OWNER.getAddress(), a.authorize(sign(r, OWNER), "SYNC_APP").signer());
    assertEquals(
        OperatorDenied.Code.MALFORMED,
        deniedCode(a, sign(r, OWNER).toBuilder().setAppId(ByteString.EMPTY).build()));
  }

  @Test
  void ownerSignatureIsAuthorized() throws Exception {
    OperatorAuthorizer.Authorized ok =
        authorizer(ownedBy(OWNER)).authorize(sign(unsigned(NOW - 60_000), OWNER));
    assertEquals(OWNER.getAddress(), ok.signer());
    assertEquals(7, ok.ownerBlock());
  }

  @Test
  void everyOtherCaseIsDeniedWithItsReason() {
    OperatorAuthorizer a = authorizer(ownedBy(OWNER));
    assertEquals(OperatorDenied.Code.NOT_OWNER, deniedCode(a, sign(unsigned(NOW), OTHER)));
    assertEquals(OperatorDenied.Code.STALE, deniedCode(a, sign(unsigned(NOW - 301_000), OWNER)));
    assertEquals(
        OperatorDenied.Code.STALE,
        deniedCode(a, sign(unsigned(NOW + 301_000), OWNER)),
        "from the future");
    assertEquals(
        OperatorDenied.Code.WRONG_DOMAIN,
        deniedCode(a, sign(unsigned(NOW).toBuilder().setChainId(1).build(), OWNER)));
    assertEquals(
        OperatorDenied.Code.WRONG_DOMAIN,
        deniedCode(
            a, sign(unsigned(NOW).toBuilder().setRegistry("0x" + "11".repeat(20)).build(), OWNER)));
    assertEquals(
        OperatorDenied.Code.MALFORMED,
        deniedCode(a, sign(unsigned(NOW), OWNER).toBuilder().setAction("ROTATE_APP").build()));
    assertEquals(
        OperatorDenied.Code.MALFORMED,
        deniedCode(a, sign(unsigned(NOW), OWNER).toBuilder().setKmsId("kms-a\naction: X").build()));
    assertEquals(
        OperatorDenied.Code.MALFORMED,
        deniedCode(
            a,
            sign(unsigned(NOW), OWNER).toBuilder()
                .setNonce(ByteString.copyFrom(new byte[8]))
                .build()));
    assertEquals(OperatorDenied.Code.BAD_SIGNATURE, deniedCode(a, unsigned(NOW)), "no signature");
    assertEquals(
        OperatorDenied.Code.MALFORMED,
        assertThrows(
                OperatorDenied.class,
                () -> a.authorize(sign(unsigned(NOW), OWNER), OperatorRequestMessage.SYNC_APP))
            .code(),
        "action bound to the RPC");
    assertEquals(
        OperatorDenied.Code.MALFORMED,
        deniedCode(
            a,
            sign(unsigned(NOW), OWNER).toBuilder()
                .setAppId(ByteString.copyFrom(new byte[20]))
                .build()),
        "ROTATE_ROOT takes no app id");
    assertEquals(
        OperatorDenied.Code.CHAIN_UNAVAILABLE,
        deniedCode(authorizer(RegistryOwnerPort.unconfigured()), sign(unsigned(NOW), OWNER)));
    assertEquals(
        OperatorDenied.Code.CHAIN_UNAVAILABLE,
        deniedCode(
            new OperatorAuthorizer(
                "kms-a", 31337, null, ownedBy(OWNER), CLOCK, Duration.ofMinutes(5)),
            sign(unsigned(NOW), OWNER)),
        "no chain configured");
  }

  @Test
  void highSTwinOfAValidSignatureIsRefused() {
    OperatorRequest good = sign(unsigned(NOW), OWNER);
    byte[] sig = good.getSignature().toByteArray();
    BigInteger n = Sign.CURVE_PARAMS.getN();
    byte[] highS = n.subtract(new BigInteger(1, Arrays.copyOfRange(sig, 32, 64))).toByteArray();
    byte[] twin = sig.clone();
    Arrays.fill(twin, 32, 64, (byte) 0);
    System.arraycopy(
        highS,
        Math.max(0, highS.length - 32),
        twin,
        64 - Math.min(32, highS.length),
        Math.min(32, highS.length));
    twin[64] = (byte) (sig[64] == 27 ? 28 : 27);
    assertEquals(
        OperatorDenied.Code.BAD_SIGNATURE,
        deniedCode(
            authorizer(ownedBy(OWNER)),
            good.toBuilder().setSignature(ByteString.copyFrom(twin)).build()));
  }

  @Test
  void truncatedOversizedAndMutatedRequestsNeverAuthorizeNorThrowUnchecked() {
    OperatorAuthorizer a = authorizer(ownedBy(OWNER));
    OperatorRequest original = sign(unsigned(NOW), OWNER);
    byte[] wire = original.toByteArray();
    Random random = new Random(20261124);
    int parsed = 0;
    for (int i = 0; i < 3000; i++) {
      byte[] m =
          switch (i % 3) {
            case 0 -> Arrays.copyOf(wire, random.nextInt(wire.length));
            case 1 -> {
              byte[] b = Arrays.copyOf(wire, wire.length + 1 + random.nextInt(64));
              for (int j = wire.length; j < b.length; j++) b[j] = (byte) random.nextInt(256);
              yield b;
            }
            default -> {
              byte[] b = wire.clone();
              int flips = 1 + random.nextInt(4);
              for (int j = 0; j < flips; j++)
                b[random.nextInt(b.length)] ^= (byte) (1 + random.nextInt(255));
              yield b;
            }
          };
      OperatorRequest r;
      try {
        r = OperatorRequest.parseFrom(m);
      } catch (InvalidProtocolBufferException e) {
        continue;
      }
      if (r.getAction().equals(original.getAction())
          && r.getKmsId().equals(original.getKmsId())
          && r.getChainId() == original.getChainId()
          && r.getRegistry().equals(original.getRegistry())
          && r.getTimestampMillis() == original.getTimestampMillis()
          && r.getNonce().equals(original.getNonce())
          && r.getSignature().equals(original.getSignature())) {
        continue; // the mutation touched only unknown-field bytes: still the very same signed
        // request
      }
      parsed++;
      try {
        a.authorize(r);
        throw new AssertionError("a mutated request was authorized: " + r);
      } catch (OperatorDenied expected) {
        // denied, with a code
      }
    }
    assertTrue(parsed > 500, "enough mutations parsed to exercise the checks: " + parsed);
  }

  /**
   * An EOA-owned registry that counts every chain read it is asked for; the owner can be
   * transferred.
   */
  static final class CountingChain implements RegistryOwnerPort {
    final java.util.concurrent.atomic.AtomicInteger reads =
        new java.util.concurrent.atomic.AtomicInteger();
    volatile String owner;

    CountingChain(Credentials owner) {
      this.owner = owner.getAddress();
    }

    @Override
    public OwnerRead owner() {
      reads.incrementAndGet();
      return new OwnerRead(owner, false, 7, "0xabc", null);
    }

    @Override
    public AppVersionsRead appVersions(AppId appId, String blockHash) {
      reads.incrementAndGet();
      return new AppVersionsRead(3, 2, null);
    }

    @Override
    public ContractSignatureRead isValidSignature(
        String contract, byte[] digest, byte[] signature, String blockHash) {
      reads.incrementAndGet();
      throw new AssertionError("an EOA owner is never asked for EIP-1271");
    }
  }

  @Test
  void floodOfBadlySignedRequestsCostsAtMostOneChainReadPerRecheck() throws Exception {
    CountingChain chain = new CountingChain(OWNER);
    org.teekms.kms.MutableClock clock = new org.teekms.kms.MutableClock(NOW);
    OperatorAuthorizer a =
        new OperatorAuthorizer(
            "kms-a", 31337, REGISTRY, chain, clock, Duration.ofMinutes(5), Duration.ofSeconds(1));
    Random random = new Random(17);
    // Cold (no owner read yet): signatures no owner of either kind can accept are refused before
    // the chain.
    for (int i = 0; i < 200; i++) {
      int length =
          i % 2 == 0 ? 0 : OperatorAuthorizer.MAX_CONTRACT_SIGNATURE + 1 + random.nextInt(100);
      assertEquals(
          OperatorDenied.Code.BAD_SIGNATURE,
          deniedCode(
              a,
              unsigned(NOW).toBuilder()
                  .setSignature(ByteString.copyFrom(new byte[length]))
                  .build()));
    }
    assertEquals(0, chain.reads.get(), "cold flood of impossible signatures");
    // The owner's request reads the chain; from then on the owner is known.
    assertEquals(OWNER.getAddress(), a.authorize(sign(unsigned(NOW), OWNER)).signer());
    assertEquals(1, chain.reads.get());
    int refused = 0;
    for (int i = 0; i < 1000; i++) {
      OperatorRequest bad =
          switch (i % 5) {
            case 0 ->
                sign(unsigned(NOW), Credentials.create(org.web3j.crypto.Keys.createEcKeyPair()));
            case 1 -> sign(unsigned(NOW), OTHER);
            case 2 -> {
              byte[] garbage = new byte[65];
              random.nextBytes(garbage);
              garbage[64] = (byte) (27 + random.nextInt(2));
              yield unsigned(NOW).toBuilder().setSignature(ByteString.copyFrom(garbage)).build();
            }
            case 3 ->
                unsigned(NOW).toBuilder()
                    .setSignature(ByteString.copyFrom(new byte[1 + random.nextInt(300)]))
                    .build();
            default -> {
              byte[] sig = sign(unsigned(NOW), OWNER).getSignature().toByteArray();
              sig[64] = 29;
              yield unsigned(NOW).toBuilder().setSignature(ByteString.copyFrom(sig)).build();
            }
          };
      OperatorDenied d = assertThrows(OperatorDenied.class, () -> a.authorize(bad));
      assertTrue(
          d.code() == OperatorDenied.Code.NOT_OWNER
              || d.code() == OperatorDenied.Code.BAD_SIGNATURE,
          d.toString());
      refused++;
    }
    assertEquals(1000, refused);
    // The first of them may be a new owner's (a transfer since the read): it was checked on chain;
    // the other 999 not.
    assertEquals(2, chain.reads.get(), "1000 badly signed requests cost one chain read");
    // Past the recheck interval one more bad request reads the owner again, the rest of that flood
    // none.
    clock.advance(Duration.ofMillis(1001));
    for (int i = 0; i < 100; i++) {
      assertEquals(
          OperatorDenied.Code.NOT_OWNER, deniedCode(a, sign(unsigned(clock.millis()), OTHER)));
    }
    assertEquals(3, chain.reads.get());
    // The owner's requests are always checked against a fresh read, flood or not.
    a.authorize(sign(unsigned(clock.millis()), OWNER));
    assertEquals(4, chain.reads.get());
  }

  @Test
  void newOwnerIsServedAtOnceAfterATransferAndWithinOneRecheckDuringAFlood() throws Exception {
    CountingChain chain = new CountingChain(OWNER);
    org.teekms.kms.MutableClock clock = new org.teekms.kms.MutableClock(NOW);
    OperatorAuthorizer a =
        new OperatorAuthorizer(
            "kms-a", 31337, REGISTRY, chain, clock, Duration.ofMinutes(5), Duration.ofSeconds(1));
    a.authorize(sign(unsigned(NOW), OWNER));
    chain.owner = OTHER.getAddress();
    // No flood: the new owner's first request reads the chain and is authorized at once.
    assertEquals(OTHER.getAddress(), a.authorize(sign(unsigned(NOW), OTHER)).signer());
    // The former owner is refused (NOT_OWNER: the owner known now is OTHER).
    assertEquals(OperatorDenied.Code.NOT_OWNER, deniedCode(a, sign(unsigned(NOW), OWNER)));
    // Back to OWNER (whose request spends this second's stranger read), a forgery is refused
    // without a read, and a
    // transfer to OTHER within that second is told when to retry, then served.
    chain.owner = OWNER.getAddress();
    clock.advance(Duration.ofSeconds(2));
    a.authorize(sign(unsigned(clock.millis()), OWNER));
    assertEquals(
        OperatorDenied.Code.NOT_OWNER,
        deniedCode(
            a,
            sign(
                unsigned(clock.millis()),
                Credentials.create(org.web3j.crypto.Keys.createEcKeyPair()))));
    chain.owner = OTHER.getAddress();
    OperatorDenied wait =
        assertThrows(
            OperatorDenied.class, () -> a.authorize(sign(unsigned(clock.millis()), OTHER)));
    assertEquals(OperatorDenied.Code.NOT_OWNER, wait.code());
    assertTrue(
        wait.detail().contains("retry in 1000 ms")
            && wait.detail().contains("teekms.limits.operator-owner-recheck"),
        wait.detail());
    clock.advance(Duration.ofSeconds(1));
    assertEquals(OTHER.getAddress(), a.authorize(sign(unsigned(clock.millis()), OTHER)).signer());
  }

  /**
   * A multisig owner that counts every chain call, refuses every signature, and (when {@code gate}
   * is closed) holds its isValidSignature calls until the gate opens; records the most calls in
   * flight.
   */
  static final class CountingMultisig implements RegistryOwnerPort {
    final java.util.concurrent.atomic.AtomicInteger ownerReads =
        new java.util.concurrent.atomic.AtomicInteger();
    final java.util.concurrent.atomic.AtomicInteger signatureCalls =
        new java.util.concurrent.atomic.AtomicInteger();
    final java.util.concurrent.atomic.AtomicInteger inFlight =
        new java.util.concurrent.atomic.AtomicInteger();
    final java.util.concurrent.atomic.AtomicInteger maxInFlight =
        new java.util.concurrent.atomic.AtomicInteger();
    volatile java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(0);

    @Override
    public OwnerRead owner() {
      ownerReads.incrementAndGet();
      return new OwnerRead(WALLET, true, 9, "0xb10c", null);
    }

    @Override
    public AppVersionsRead appVersions(AppId appId, String blockHash) {
      return new AppVersionsRead(3, 2, null);
    }

    @Override
    public ContractSignatureRead isValidSignature(
        String contract, byte[] digest, byte[] signature, String blockHash) {
      signatureCalls.incrementAndGet();
      maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
      try {
        gate.await(1, java.util.concurrent.TimeUnit.MINUTES);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        inFlight.decrementAndGet();
      }
      return new ContractSignatureRead(
          ContractSignatureRead.Outcome.REJECTED, "reverted: not enough owner approvals");
    }
  }

  private static OperatorRequest forgedForContract(long timestamp, int variant) {
    byte[] sig = new byte[130];
    Arrays.fill(sig, (byte) 0x41);
    sig[0] = (byte) variant;
    sig[1] = (byte) (variant >> 8);
    return unsigned(timestamp).toBuilder().setSignature(ByteString.copyFrom(sig)).build();
  }

  @Test
  void thousandReplayedForgeriesAgainstAMultisigOwnerCostOneOwnerReadAndOneCallPerVerdictTtl()
      throws Exception {
    CountingMultisig multisig = new CountingMultisig();
    org.teekms.kms.MutableClock clock = new org.teekms.kms.MutableClock(NOW);
    OperatorAuthorizer a =
        new OperatorAuthorizer(
            "kms-a",
            31337,
            REGISTRY,
            multisig,
            clock,
            Duration.ofMinutes(5),
            Duration.ofSeconds(1),
            new OperatorAuthorizer.ContractCalls(4, Duration.ofSeconds(10), 1024));
    OperatorRequest forged = forgedForContract(NOW, 1);
    for (int i = 0; i < 1000; i++) {
      OperatorDenied d = assertThrows(OperatorDenied.class, () -> a.authorize(forged));
      assertEquals(OperatorDenied.Code.CONTRACT_REJECTED, d.code(), d.toString());
      assertTrue(d.detail().contains("not enough owner approvals"), d.detail());
    }
    assertEquals(1, multisig.ownerReads.get(), "1,000 replays of one forgery: one owner read");
    assertEquals(1, multisig.signatureCalls.get(), "... and one isValidSignature call");
    // Past the verdict's TTL the same forgery asks the contract once more (its owners may have
    // approved it meanwhile); another signature over the same request is asked at once.
    clock.advance(Duration.ofSeconds(11));
    for (int i = 0; i < 100; i++) {
      assertEquals(OperatorDenied.Code.CONTRACT_REJECTED, deniedCode(a, forged));
    }
    assertEquals(2, multisig.signatureCalls.get());
    assertEquals(OperatorDenied.Code.CONTRACT_REJECTED, deniedCode(a, forgedForContract(NOW, 2)));
    assertEquals(3, multisig.signatureCalls.get());
    assertEquals(3, multisig.ownerReads.get());
  }

  @Test
  void thousandDistinctConcurrentForgeriesAgainstAMultisigOwnerNeverExceedTheChainCallCap()
      throws Exception {
    CountingMultisig multisig = new CountingMultisig();
    multisig.gate = new java.util.concurrent.CountDownLatch(1);
    int cap = 4;
    OperatorAuthorizer a =
        new OperatorAuthorizer(
            "kms-a",
            31337,
            REGISTRY,
            multisig,
            CLOCK,
            Duration.ofMinutes(5),
            Duration.ofSeconds(1),
            new OperatorAuthorizer.ContractCalls(cap, Duration.ofSeconds(10), 1024));
    int requests = 1000;
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(32);
    java.util.Map<OperatorDenied.Code, java.util.concurrent.atomic.AtomicInteger> outcomes =
        new java.util.concurrent.ConcurrentHashMap<>();
    java.util.concurrent.atomic.AtomicInteger finished =
        new java.util.concurrent.atomic.AtomicInteger();
    java.util.List<java.util.concurrent.Future<?>> work = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < requests; i++) {
        OperatorRequest forged = forgedForContract(NOW, i);
        work.add(
            pool.submit(
                () -> {
                  try {
                    a.authorize(forged);
                    throw new AssertionError("a forgery was authorized");
                  } catch (OperatorDenied d) {
                    outcomes
                        .computeIfAbsent(
                            d.code(), c -> new java.util.concurrent.atomic.AtomicInteger())
                        .incrementAndGet();
                  } finally {
                    finished.incrementAndGet();
                  }
                  return null;
                }));
      }
      // While the chain holds `cap` calls, every other forgery is refused at once, without a
      // call.
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MINUTES.toNanos(2);
      while ((finished.get() < requests - cap || multisig.inFlight.get() < cap)
          && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertEquals(requests - cap, finished.get(), "all but the calls in flight were refused");
      multisig.gate.countDown();
      for (java.util.concurrent.Future<?> f : work) {
        f.get(1, java.util.concurrent.TimeUnit.MINUTES);
      }
    } finally {
      multisig.gate.countDown();
      pool.shutdownNow();
    }
    assertEquals(cap, multisig.maxInFlight.get(), "never more than the cap in flight");
    assertEquals(cap, multisig.signatureCalls.get(), "1,000 forgeries cost " + cap + " calls");
    assertEquals(cap, multisig.ownerReads.get());
    assertEquals(
        cap, outcomes.get(OperatorDenied.Code.CONTRACT_REJECTED).get(), outcomes.toString());
    OperatorDenied busy =
        assertThrows(
            OperatorDenied.class,
            () -> {
              multisig.gate = new java.util.concurrent.CountDownLatch(1);
              java.util.concurrent.ExecutorService hold =
                  java.util.concurrent.Executors.newFixedThreadPool(cap);
              try {
                for (int i = 0; i < cap; i++) {
                  OperatorRequest r = forgedForContract(NOW, 5000 + i);
                  hold.submit(() -> a.authorize(r));
                }
                while (multisig.inFlight.get() < cap) {
                  Thread.sleep(5);
                }
                a.authorize(forgedForContract(NOW, 6000));
              } finally {
                multisig.gate.countDown();
                hold.shutdown();
              }
            });
    assertEquals(OperatorDenied.Code.CHAIN_UNAVAILABLE, busy.code());
    assertTrue(
        busy.detail().contains("teekms.limits.operator-owner-calls")
            && busy.detail().contains("retry shortly"),
        busy.detail());
    assertEquals(
        requests - cap,
        outcomes.get(OperatorDenied.Code.CHAIN_UNAVAILABLE).get(),
        outcomes.toString());
  }
}
