package org.teekms.governance.cli;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.teekms.custody.BackupStore;
import org.teekms.custody.CustodyException;
import org.teekms.custody.RecipientKey;
import org.teekms.custody.RootBackup;
import org.teekms.governance.ChainClient;
import org.teekms.governance.GovernanceException;
import org.teekms.governance.RootCustody;
import org.teekms.governance.TxResult;
import org.web3j.crypto.Credentials;
import org.web3j.utils.Numeric;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Registry-owner commands of root custody (docs/root-custody.md §5–6): deploy the RootCustody
 * contract, register custodians, publish a generation's backup from the share store, authorize or
 * revoke a recovery. With {@code --calldata-only} a command prints the call for a multisig owner's
 * signers ({@code "to"}, {@code "data"}) and sends nothing.
 */
final class CustodyCommands {
  private CustodyCommands() {}

  /** {@code --custody}, defaulting to env TEEKMS_CUSTODY. */
  static final class CustodyOption {
    @Option(
        names = "--custody",
        paramLabel = "ADDRESS",
        defaultValue = "${env:TEEKMS_CUSTODY}",
        converter = HexConverters.AddressConverter.class,
        description = "RootCustody contract address (env TEEKMS_CUSTODY).")
    String address;

    RootCustody bind(ChainClient chain, Credentials signer) throws GovernanceException {
      if (address == null) {
        throw new GovernanceException(
            GovernanceException.Kind.INVALID_INPUT,
            "--custody (or env TEEKMS_CUSTODY) is required");
      }
      return RootCustody.at(chain, address, signer);
    }
  }

  /** An owner call: sent with the key, or printed for a multisig. */
  abstract static class OwnerCall extends ChainCommand {
    @Mixin CustodyOption custodyOption;
    @Mixin KeyOptions keyOptions;

    @Option(names = "--calldata-only", description = "Same as --print-calldata (kept for scripts).")
    boolean calldataOnly;

    @Override
    final Map<String, Object> run(ChainClient chain) throws GovernanceException {
      if (calldataOnly || keyOptions.printCalldata()) {
        RootCustody c = custodyOption.bind(chain, null);
        Object[] call = call(c);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("sent", false);
        out.put("chainId", chain.chainId());
        out.put("to", c.address());
        out.put("value", "0");
        out.put(
            "data",
            c.calldata((String) call[0], java.util.Arrays.copyOfRange(call, 1, call.length)));
        return out;
      }
      return send(custodyOption.bind(chain, keyOptions.load()));
    }

    /** The function name and its arguments. */
    abstract Object[] call(RootCustody custody) throws GovernanceException;

    abstract Map<String, Object> send(RootCustody custody) throws GovernanceException;
  }

  @Command(
      name = "deploy-custody",
      mixinStandardHelpOptions = true,
      description =
          "Deploy a RootCustody contract governed by the registry's owner; prints its address.")
  public static final class DeployCustody extends TxCommand {
    @Mixin RegistryCommands.RegistryOption registryOption;

    @Override
    Map<String, Object> run(ChainClient chain) throws GovernanceException {
      String registry = registryOption.bind(chain, null).address();
      RootCustody c = RootCustody.deploy(chain, keyOptions.load(), registry);
      return Map.of("custody", c.address(), "registry", registry);
    }
  }

  @Command(
      name = "register-custodian",
      mixinStandardHelpOptions = true,
      description =
          "Register a custodian's P-256 key (65-byte uncompressed hex, from `teekms custody keygen`).")
  public static final class RegisterCustodian extends OwnerCall {
    @Option(
        names = "--public-key",
        required = true,
        paramLabel = "HEX",
        converter = P256Key.class,
        description = "The custodian's P-256 public key, 65 bytes uncompressed, hex.")
    String publicKey;

    @Option(
        names = "--kind",
        required = true,
        paramLabel = "KIND",
        description = "kms-cluster, hsm or operator.")
    String kind;

    @Option(names = "--name", required = true, paramLabel = "NAME")
    String name;

    private byte[] key() {
      return Numeric.hexStringToByteArray(publicKey);
    }

    private RootCustody.Kind parsedKind() throws GovernanceException {
      return switch (kind.toLowerCase(Locale.ROOT)) {
        case "kms-cluster" -> RootCustody.Kind.KMS_CLUSTER;
        case "hsm" -> RootCustody.Kind.HSM;
        case "operator" -> RootCustody.Kind.OPERATOR;
        default ->
            throw new GovernanceException(
                GovernanceException.Kind.INVALID_INPUT,
                "--kind must be kms-cluster, hsm or operator, got '" + kind + "'");
      };
    }

    @Override
    Object[] call(RootCustody c) throws GovernanceException {
      return new Object[] {"registerCustodian", key(), parsedKind().ordinal(), name};
    }

    @Override
    Map<String, Object> send(RootCustody c) throws GovernanceException {
      byte[] k = key();
      return tx(c.registerCustodian(k, parsedKind(), name), "custodianId", sha256(k));
    }
  }

  @Command(
      name = "publish-backup",
      mixinStandardHelpOptions = true,
      description =
          "Publish a generation's backup from the share store: commitments, custodian ids, envelope digests.")
  public static final class PublishBackup extends OwnerCall {
    @Option(names = "--store", required = true, paramLabel = "DIR")
    Path store;

    @Option(names = "--generation", required = true, paramLabel = "N")
    long generation;

    private RootBackup backup() throws GovernanceException {
      try {
        return new BackupStore(store).read(generation);
      } catch (CustodyException e) {
        throw new GovernanceException(GovernanceException.Kind.INVALID_INPUT, e.getMessage());
      }
    }

    private List<byte[]> ids(RootBackup b) {
      List<byte[]> out = new ArrayList<>();
      for (RootBackup.SealedShare s : b.shares()) out.add(s.custodian().id());
      return out;
    }

    @Override
    Object[] call(RootCustody c) throws GovernanceException {
      RootBackup b = backup();
      return new Object[] {
        "publishBackup", generation, b.commitments().encode(), ids(b), b.envelopeDigests()
      };
    }

    @Override
    Map<String, Object> send(RootCustody c) throws GovernanceException {
      RootBackup b = backup();
      TxResult tx =
          c.publishBackup(generation, b.commitments().encode(), ids(b), b.envelopeDigests());
      return tx(
          tx,
          "generation",
          generation,
          "threshold",
          b.commitments().threshold(),
          "shares",
          b.shares().size(),
          "commitmentsDigest",
          b.commitments().digest());
    }
  }

  @Command(
      name = "authorize-recovery",
      mixinStandardHelpOptions = true,
      description =
          "Authorize custodians to re-encrypt their shares of a generation to one node's attested key.")
  public static final class AuthorizeRecovery extends OwnerCall {
    @Option(names = "--generation", required = true, paramLabel = "N")
    long generation;

    @Option(
        names = "--node-cert",
        required = true,
        paramLabel = "FILE",
        description =
            "The recovering node's RA-TLS certificate (PEM or DER); its P-256 key is the one authorized.")
    Path nodeCert;

    @Option(
        names = "--valid-blocks",
        paramLabel = "N",
        defaultValue = "7200",
        description = "Blocks the custodians may answer for (default ${DEFAULT-VALUE}).")
    long validBlocks;

    @Override
    Object[] call(RootCustody c) throws GovernanceException {
      return new Object[] {"authorizeRecovery", generation, nodeKeyId(nodeCert), validBlocks};
    }

    @Override
    Map<String, Object> send(RootCustody c) throws GovernanceException {
      byte[] node = nodeKeyId(nodeCert);
      RootCustody.Recovery r = c.authorizeRecovery(generation, node, validBlocks);
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("requestId", r.requestId());
      out.put("generation", r.generation());
      out.put("nodeKeyId", r.nodeKeyId());
      out.put("expiresAtBlock", r.expiresAtBlock());
      return out;
    }
  }

  @Command(
      name = "revoke-recovery",
      mixinStandardHelpOptions = true,
      description = "Revoke a recovery request.")
  public static final class RevokeRecovery extends OwnerCall {
    @Option(
        names = "--request",
        required = true,
        paramLabel = "HEX",
        converter = HexConverters.Bytes32.class)
    String request;

    @Override
    Object[] call(RootCustody c) {
      return new Object[] {"revokeRecovery", HexConverters.b32(request)};
    }

    @Override
    Map<String, Object> send(RootCustody c) throws GovernanceException {
      return tx(c.revokeRecovery(HexConverters.b32(request)), "requestId", request);
    }
  }

  @Command(
      name = "show-custody",
      mixinStandardHelpOptions = true,
      description = "Show custodians and the published backups.")
  public static final class ShowCustody extends ChainCommand {
    @Mixin CustodyOption custodyOption;

    @Override
    Map<String, Object> run(ChainClient chain) throws GovernanceException {
      RootCustody c = custodyOption.bind(chain, null);
      List<Object> custodians = new ArrayList<>();
      for (byte[] id : c.custodianIds()) {
        RootCustody.Custodian k = c.custodian(id);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("kind", k.kind().name());
        m.put("name", k.name());
        m.put("active", k.active());
        m.put("publicKey", k.publicKey());
        custodians.add(m);
      }
      List<Object> backups = new ArrayList<>();
      for (long g : c.generations()) {
        RootCustody.Backup b = c.backup(g);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("generation", g);
        m.put("threshold", b.threshold());
        m.put("shares", b.custodianIds().size());
        m.put("commitmentsDigest", sha256(b.commitments().toByteArray()));
        m.put("publishedAtBlock", b.publishedAtBlock());
        backups.add(m);
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("custody", c.address());
      out.put("registry", c.registry());
      out.put("custodians", custodians);
      out.put("backups", backups);
      return out;
    }
  }

  /**
   * A P-256 public key option, checked on the curve before anything runs (a usage error otherwise).
   */
  static final class P256Key implements picocli.CommandLine.ITypeConverter<String> {
    @Override
    public String convert(String value) {
      byte[] raw;
      try {
        raw = Numeric.hexStringToByteArray(value);
      } catch (RuntimeException e) {
        throw new picocli.CommandLine.TypeConversionException("not hex: '" + value + "'");
      }
      try {
        return Numeric.toHexString(RecipientKey.decode(raw).encode());
      } catch (CustodyException e) {
        throw new picocli.CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }

  /** SHA-256 of the P-256 key in an RA-TLS certificate: the node key id the recovery authorizes. */
  static byte[] nodeKeyId(Path certFile) throws GovernanceException {
    try {
      byte[] bytes = Files.readAllBytes(certFile);
      X509Certificate cert =
          (X509Certificate)
              CertificateFactory.getInstance("X.509")
                  .generateCertificate(new ByteArrayInputStream(bytes));
      return RecipientKey.of(cert.getPublicKey()).id();
    } catch (java.io.IOException e) {
      throw new GovernanceException(
          GovernanceException.Kind.INVALID_INPUT,
          "cannot read " + certFile + ": " + e.getMessage());
    } catch (CertificateException | ClassCastException e) {
      throw new GovernanceException(
          GovernanceException.Kind.INVALID_INPUT, certFile + " is not an X.509 certificate");
    } catch (CustodyException e) {
      throw new GovernanceException(
          GovernanceException.Kind.INVALID_INPUT, certFile + ": " + e.getMessage());
    }
  }

  static byte[] sha256(byte[] b) {
    try {
      return java.security.MessageDigest.getInstance("SHA-256").digest(b);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
