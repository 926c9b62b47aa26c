package org.teekms.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.teekms.attest.ratls.RaTlsException;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.tdx.Pem;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.crypto.Bytes;
import org.teekms.custody.BackupStore;
import org.teekms.custody.Commitments;
import org.teekms.custody.CustodianShare;
import org.teekms.custody.CustodyException;
import org.teekms.custody.RecipientKey;
import org.teekms.custody.RecipientKeyPair;
import org.teekms.custody.Share;
import org.teekms.governance.BootInfo;
import org.teekms.governance.ChainClient;
import org.teekms.governance.GovernanceContract;
import org.teekms.governance.GovernanceException;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.RootCustody;
import org.teekms.keys.AppId;
import org.teekms.keys.InsecureSecretAccess;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code teekms custody …}: what a custodian (an operator, or the host of an HSM key) runs
 * (docs/root-custody.md §5–6). The registry owner's side is in {@code teekms gov} ({@code
 * register-custodian}, {@code publish-backup}, {@code authorize-recovery}).
 */
@Command(
    name = "custody",
    mixinStandardHelpOptions = true,
    description =
        "Root custody for custodians: key generation, share check, share release to a recovering node.",
    subcommands = {
      CustodyCommand.Keygen.class,
      CustodyCommand.CheckShare.class,
      CustodyCommand.Release.class,
      CustodyCommand.RecoveryStatus.class
    })
public final class CustodyCommand extends CommandGroup {

  private static final HexFormat HEX = HexFormat.of();

  @Command(
      name = "keygen",
      mixinStandardHelpOptions = true,
      description =
          "Create a custodian P-256 key: the private key (hex) goes to --out (mode 600), the public key "
              + "and its id are printed for `teekms gov register-custodian`.")
  static final class Keygen implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
        names = "--out",
        required = true,
        paramLabel = "FILE",
        description = "Private key file to create.")
    Path out;

    @Override
    public Integer call() throws Exception {
      ObjectNode json = VerifyQuoteCommand.JSON.createObjectNode();
      try (RecipientKeyPair k = RecipientKeyPair.generate(new SecureRandom())) {
        byte[] priv = k.encodePrivate(InsecureSecretAccess.get());
        try {
          Files.createFile(
              out,
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
          Files.write(out, (HEX.formatHex(priv) + "\n").getBytes(StandardCharsets.US_ASCII));
        } catch (FileAlreadyExistsException e) {
          throw new ParameterException(
              spec.commandLine(), "--out " + out + " exists; refusing to overwrite a key");
        } finally {
          Arrays.fill(priv, (byte) 0);
        }
        json.put("keyFile", out.toString());
        json.put("publicKey", "0x" + HEX.formatHex(k.publicKey().encode()));
        json.put("custodianId", "0x" + HEX.formatHex(k.publicKey().id()));
      }
      return JsonResult.print(spec, json, true);
    }
  }

  /** Chain, contracts, key and share store: what every custodian command reads. */
  static final class CustodianOptions {
    @Option(
        names = "--rpc-url",
        required = true,
        paramLabel = "URL",
        description = "JSON-RPC endpoint.")
    String rpcUrl;

    @Option(
        names = "--chain-id",
        required = true,
        paramLabel = "ID",
        description = "Chain id the endpoint must serve.")
    long chainId;

    @Option(
        names = "--custody",
        required = true,
        paramLabel = "ADDRESS",
        description = "RootCustody contract.")
    String custody;

    @Option(
        names = "--key-file",
        required = true,
        paramLabel = "FILE",
        description = "This custodian's private key (hex, from `teekms custody keygen`).")
    Path keyFile;

    @Option(
        names = "--store",
        required = true,
        paramLabel = "DIR",
        description = "The share store (a directory).")
    Path store;

    @Option(names = "--generation", required = true, paramLabel = "N")
    long generation;

    @Option(
        names = "--index",
        required = true,
        paramLabel = "I",
        description = "This custodian's share index.")
    int index;

    void check(CommandSpec spec) {
      if (chainId <= 0)
        throw new ParameterException(spec.commandLine(), "--chain-id must be positive");
      if (!custody.matches("0[xX][0-9a-fA-F]{40}")) {
        throw new ParameterException(
            spec.commandLine(), "--custody must be a 0x-prefixed 20-byte address");
      }
      if (generation < 1 || generation > 0xffffffffL) {
        throw new ParameterException(spec.commandLine(), "--generation must be 1..4294967295");
      }
      if (index < 1 || index > Share.MAX_INDEX) {
        throw new ParameterException(spec.commandLine(), "--index must be 1..255");
      }
    }

    RecipientKeyPair key(CommandSpec spec) {
      byte[] raw = null;
      try {
        String text = Files.readString(keyFile, StandardCharsets.US_ASCII).trim();
        raw = HEX.parseHex(text.startsWith("0x") ? text.substring(2) : text);
        return RecipientKeyPair.fromPrivate(raw, InsecureSecretAccess.get());
      } catch (IOException e) {
        throw new ParameterException(spec.commandLine(), "--key-file: cannot read " + keyFile);
      } catch (IllegalArgumentException | CustodyException e) {
        throw new ParameterException(
            spec.commandLine(),
            "--key-file "
                + keyFile
                + " is not a custodian key (64 hex "
                + "characters of a P-256 private key)");
      } finally {
        if (raw != null) Arrays.fill(raw, (byte) 0);
      }
    }
  }

  /** A failed custodian check: the stable code and the one-line reason. */
  static final class Refused extends Exception {
    private static final long serialVersionUID = 1L;
    final String failure;

    Refused(String failure, String message) {
      super(message);
      this.failure = failure;
    }
  }

  /**
   * The custodian's own share, checked against the chain. In order: the on-chain backup of the
   * generation exists and names this key as the custodian of this index (NOT_THIS_CUSTODIAN); the
   * stored envelope has the published digest and opens with this key (SHARE_INVALID); the share
   * verifies against the commitments read from chain, not from the store (SHARE_INVALID).
   */
  static Share ownShare(RootCustody custody, CustodianOptions o, RecipientKeyPair key)
      throws Refused, GovernanceException {
    RootCustody.Backup backup = ownBackup(custody, o, key);
    try {
      Commitments onChain = Commitments.decode(backup.commitments().toByteArray());
      byte[] envelope = new BackupStore(o.store).envelope(o.generation, o.index);
      return CustodianShare.open(
          key,
          o.generation,
          o.index,
          onChain,
          envelope,
          backup.envelopeDigests().get(o.index - 1).toByteArray());
    } catch (CustodyException e) {
      throw new Refused("SHARE_INVALID", e.getMessage());
    }
  }

  /**
   * The on-chain backup, if it names this key as the custodian of this index (NOT_THIS_CUSTODIAN
   * otherwise).
   */
  static RootCustody.Backup ownBackup(RootCustody custody, CustodianOptions o, RecipientKeyPair key)
      throws Refused, GovernanceException {
    RootCustody.Backup backup = custody.backup(o.generation);
    if (o.index > backup.custodianIds().size()
        || !MessageDigest.isEqual(
            backup.custodianIds().get(o.index - 1).toByteArray(), key.publicKey().id())) {
      throw new Refused(
          "NOT_THIS_CUSTODIAN",
          "share "
              + o.index
              + " of generation "
              + o.generation
              + " does not belong to this custodian key on chain");
    }
    return backup;
  }

  @Command(
      name = "check-share",
      mixinStandardHelpOptions = true,
      description =
          "Check this custodian's share of a published backup: on-chain custodian id and envelope digest, "
              + "decryption with the key, verification against the on-chain commitments.")
  static final class CheckShare implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CustodianOptions options;

    @Override
    public Integer call() throws Exception {
      options.check(spec);
      ObjectNode out = VerifyQuoteCommand.JSON.createObjectNode();
      out.put("generation", options.generation);
      out.put("index", options.index);
      try (RecipientKeyPair key = options.key(spec);
          ChainClient chain = ChainClient.connect(options.rpcUrl, options.chainId)) {
        chain.checkChainId();
        try (Share share = ownShare(RootCustody.at(chain, options.custody, null), options, key)) {
          out.put("valid", true);
          return JsonResult.print(spec, out, true);
        }
      } catch (Refused r) {
        out.put("valid", false);
        return JsonResult.print(spec, JsonResult.fail(out, r.failure, r.getMessage()), false);
      } catch (GovernanceException e) {
        out.put("valid", false);
        return JsonResult.print(
            spec, JsonResult.fail(out, "CHAIN_UNAVAILABLE", e.getMessage()), false);
      }
    }
  }

  @Command(
      name = "release",
      mixinStandardHelpOptions = true,
      description =
          "Re-encrypt this custodian's share to a recovering node's attested key, if the registry owner "
              + "authorized that recovery on chain and the node is an attested, allowed KMS.")
  static final class Release implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin CustodianOptions options;
    @Mixin QuoteVerificationOptions quote;
    @Mixin MrSystemOptions mrSystem;

    @Option(
        names = "--registry",
        required = true,
        paramLabel = "ADDRESS",
        description = "KmsRegistry contract.")
    String registry;

    @Option(
        names = "--request",
        required = true,
        paramLabel = "HEX32",
        description = "Recovery request id.")
    String request;

    @Option(
        names = "--node-cert",
        paramLabel = "FILE",
        description = "The recovering node's RA-TLS certificate (PEM or DER); with --out.")
    Path nodeCert;

    @Option(
        names = "--out",
        paramLabel = "FILE",
        description = "Where to write the re-encrypted share (with --node-cert).")
    Path out;

    @Option(
        names = "--to-node",
        paramLabel = "HOST:PORT",
        description =
            "Instead of --node-cert/--out: read the recovering KMS node's certificate from its Recovery "
                + "service, run the same checks on it, and send the re-encrypted share there, signed with this "
                + "custodian's key.")
    String toNode;

    @Option(
        names = "--timeout",
        paramLabel = "SECONDS",
        defaultValue = "30",
        description = "Deadline of each call to --to-node (default 30).")
    int timeoutSeconds;

    /**
     * Checks, in order (the first failure is the reason): the request id is 32 bytes (usage error);
     * the on-chain backup names this key as the custodian of this index (NOT_THIS_CUSTODIAN); the
     * node certificate verifies as RA-TLS (quote via DCAP, key binding, event log:
     * NODE_NOT_ATTESTED); the quote's mrSystem is one of the {@code --mr-system} values this
     * custodian trusts (NODE_OS_NOT_TRUSTED); the owner authorized this request for this generation
     * and exactly this node key, not revoked or expired (RECOVERY_NOT_AUTHORIZED); the registry
     * allows the node as a KMS: measurement, device, OS image, TCB (NODE_NOT_ALLOWED); only then is
     * the share decrypted and checked ({@link #ownShare}: SHARE_INVALID), re-encrypted to the
     * node's key and written. With {@code --to-node} the certificate is the one the node's Recovery
     * service answers (the node must be RECOVERING this generation: NODE_NOT_RECOVERING;
     * unreachable: NODE_UNREACHABLE), the same checks run on it, and the envelope goes to the node
     * signed with this custodian's key (docs/root-custody.md §6.4); the node's refusal is
     * NODE_REFUSED_ + its code (e.g. NODE_REFUSED_SHARE_INVALID).
     */
    @Override
    public Integer call() throws Exception {
      options.check(spec);
      quote.requireOneCollateralSource();
      Set<Bytes> golden = mrSystem.golden(spec);
      if (golden.isEmpty()) {
        throw new ParameterException(
            spec.commandLine(),
            "--mr-system is required: the OS a recovering node runs "
                + "must be one this custodian trusts");
      }
      byte[] requestId = requestId();
      if (!registry.matches("0[xX][0-9a-fA-F]{40}")) {
        throw new ParameterException(
            spec.commandLine(), "--registry must be a 0x-prefixed 20-byte address");
      }
      if (toNode != null && (nodeCert != null || out != null)) {
        throw new ParameterException(
            spec.commandLine(),
            "--to-node replaces --node-cert and --out: give one or the " + "other");
      }
      if (toNode == null && (nodeCert == null || out == null)) {
        throw new ParameterException(
            spec.commandLine(), "give --to-node HOST:PORT, or --node-cert FILE and --out FILE");
      }
      RecoveryNode node = toNode == null ? null : RecoveryNode.open(spec, toNode, timeoutSeconds);
      try {
        return release(requestId, node);
      } finally {
        if (node != null) node.close();
      }
    }

    private Integer release(byte[] requestId, RecoveryNode target) throws Exception {
      Set<Bytes> golden = mrSystem.golden(spec);
      ObjectNode json = VerifyQuoteCommand.JSON.createObjectNode();
      X509Certificate cert;
      if (target == null) {
        cert = certificate();
      } else {
        try {
          org.teekms.proto.RecoveryStatus status = target.status();
          if (!"RECOVERING".equals(status.getState())) {
            json.put("released", false);
            return JsonResult.print(
                spec,
                JsonResult.fail(
                    json,
                    "NODE_NOT_RECOVERING",
                    "the node at "
                        + toNode
                        + " is "
                        + status.getState()
                        + ": "
                        + status.getDetail()),
                false);
          }
          if (status.getGeneration() != options.generation) {
            json.put("released", false);
            return JsonResult.print(
                spec,
                JsonResult.fail(
                    json,
                    "NODE_NOT_RECOVERING",
                    "the node at "
                        + toNode
                        + " recovers generation "
                        + status.getGeneration()
                        + ", not "
                        + options.generation),
                false);
          }
          cert = Pem.certificate(status.getNodeCertificate().toByteArray());
        } catch (RecoveryNode.Failed f) {
          json.put("released", false);
          return JsonResult.print(spec, JsonResult.fail(json, f.failure, f.getMessage()), false);
        } catch (java.security.cert.CertificateException e) {
          json.put("released", false);
          return JsonResult.print(
              spec,
              JsonResult.fail(
                  json,
                  "NODE_NOT_ATTESTED",
                  "the node at " + toNode + " answered a certificate that does not parse"),
              false);
        }
      }
      json.put("generation", options.generation);
      json.put("index", options.index);
      json.put("requestId", "0x" + HEX.formatHex(requestId));
      try (RecipientKeyPair key = options.key(spec);
          ChainClient chain = ChainClient.connect(options.rpcUrl, options.chainId)) {
        chain.checkChainId();
        RootCustody custody = RootCustody.at(chain, options.custody, null);
        ownBackup(custody, options, key);
        RecipientKey node = attestedNode(cert, golden, json);
        RootCustody.Authorization authorized =
            custody.isRecoveryAuthorized(requestId, options.generation, node.id());
        if (!authorized.authorized())
          throw new Refused("RECOVERY_NOT_AUTHORIZED", authorized.reason());
        GovernanceContract.Verdict allowed =
            KmsRegistry.at(chain, registry, null).isKmsAllowed(bootInfo);
        if (!allowed.allowed()) {
          throw new Refused(
              "NODE_NOT_ALLOWED",
              "the registry does not allow the node as a KMS: " + allowed.reason());
        }
        try (Share share = ownShare(custody, options, key)) {
          Commitments onChain =
              Commitments.decode(custody.backup(options.generation).commitments().toByteArray());
          byte[] sealed =
              org.teekms.custody.ShareEnvelope.seal(
                  node,
                  org.teekms.custody.EnvelopeContext.recovery(
                      options.generation, options.index, onChain.digest(), requestId),
                  share,
                  new SecureRandom());
          if (target == null) {
            Files.write(out, sealed);
            json.put("released", true);
            json.put("envelope", out.toString());
            return JsonResult.print(spec, json, true);
          }
          byte[] signature =
              org.teekms.custody.ShareSubmission.sign(
                  key,
                  org.teekms.custody.ShareSubmission.message(
                      options.generation, options.index, requestId, node.id(), sealed));
          org.teekms.proto.RecoveryStatus after;
          try {
            after = target.submit(requestId, options.index, sealed, signature);
          } catch (RecoveryNode.Failed f) {
            json.put("released", false);
            return JsonResult.print(spec, JsonResult.fail(json, f.failure, f.getMessage()), false);
          }
          json.put("released", true);
          json.put("node", toNode);
          RecoveryNode.describe(after, json.putObject("nodeStatus"));
          return JsonResult.print(spec, json, true);
        }
      } catch (Refused r) {
        json.put("released", false);
        return JsonResult.print(spec, JsonResult.fail(json, r.failure, r.getMessage()), false);
      } catch (GovernanceException e) {
        json.put("released", false);
        return JsonResult.print(
            spec, JsonResult.fail(json, "CHAIN_UNAVAILABLE", e.getMessage()), false);
      }
    }

    private BootInfo bootInfo;

    /**
     * RA-TLS verification, the trusted OS, and the node's P-256 key. Sets {@link #bootInfo} for the
     * registry.
     */
    private RecipientKey attestedNode(X509Certificate cert, Set<Bytes> golden, ObjectNode json)
        throws Refused {
      RaTlsIdentity id;
      try {
        RaTlsVerifier verifier =
            RaTlsVerifier.builder(quote.verifier(), quote.source())
                .quotePolicy(QuotePolicy.builder().build())
                .clock(Clock.fixed(quote.time(), ZoneOffset.UTC))
                .build();
        id = verifier.verify(cert);
      } catch (RaTlsException e) {
        throw new Refused(
            "NODE_NOT_ATTESTED",
            "the node's RA-TLS certificate does not verify: " + e.getMessage());
      } catch (QuoteVerificationOptions.CollateralLoadException e) {
        throw new Refused("NODE_NOT_ATTESTED", "collateral unavailable: " + e.getMessage());
      }
      json.put("nodeMrSystem", id.mrSystem().hex());
      if (!golden.contains(id.mrSystem())) {
        throw new Refused(
            "NODE_OS_NOT_TRUSTED",
            "the node's mrSystem "
                + id.mrSystem().hex()
                + " is not one of the --mr-system values this custodian trusts");
      }
      RecipientKey node;
      try {
        node = RecipientKey.of(cert.getPublicKey());
      } catch (CustodyException e) {
        throw new Refused("NODE_NOT_ATTESTED", "the node's RA-TLS key: " + e.getMessage());
      }
      json.put("nodeKeyId", "0x" + HEX.formatHex(node.id()));
      Bytes osImage = id.provenOsImageHash().or(id::osImageHash).orElse(Bytes.copyOf(new byte[32]));
      Bytes instance = id.instanceId();
      bootInfo =
          BootInfo.withoutGpu(
                  AppId.of(id.appId().toByteArray()),
                  id.composeHash(),
                  instance.length() == 20 ? instance : Bytes.copyOf(new byte[20]),
                  id.deviceId(),
                  id.mrAggregated(),
                  osImage,
                  id.tcbStatus().name(),
                  id.advisoryIds())
              .withMrSystem(id.mrSystem(), id.osImageMeasured());
      return node;
    }

    private byte[] requestId() {
      String h =
          request.startsWith("0x") || request.startsWith("0X") ? request.substring(2) : request;
      try {
        byte[] b = HEX.parseHex(h);
        if (b.length == 32) return b;
      } catch (IllegalArgumentException e) {
        // reported below
      }
      throw new ParameterException(spec.commandLine(), "--request must be 32 bytes of hex");
    }

    private X509Certificate certificate() {
      byte[] bytes = quote.read(nodeCert, "--node-cert");
      try {
        String text = new String(bytes, StandardCharsets.US_ASCII);
        if (text.contains("-----BEGIN CERTIFICATE-----")) {
          List<X509Certificate> certs = Pem.certificates(bytes);
          if (certs.size() != 1)
            throw new ParameterException(
                spec.commandLine(), "--node-cert must hold one certificate");
          return certs.get(0);
        }
        return Pem.certificate(bytes);
      } catch (java.security.cert.CertificateException e) {
        throw new ParameterException(
            spec.commandLine(), "--node-cert " + nodeCert + " is not an X.509 certificate");
      }
    }
  }

  @Command(
      name = "recovery-status",
      mixinStandardHelpOptions = true,
      description =
          "What a recovering KMS node reports (teekms.v1.Recovery): state, generation, node key id, valid "
              + "and bad shares; --cert-out writes its RA-TLS certificate (PEM) for `teekms gov authorize-recovery "
              + "--node-cert`. Nothing here is trusted: custodians verify the certificate in `teekms custody release`.")
  static final class RecoveryStatus implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
        names = "--node",
        required = true,
        paramLabel = "HOST:PORT",
        description = "The recovering KMS node.")
    String node;

    @Option(
        names = "--cert-out",
        paramLabel = "FILE",
        description = "Write the node's RA-TLS certificate (PEM).")
    Path certOut;

    @Option(
        names = "--timeout",
        paramLabel = "SECONDS",
        defaultValue = "30",
        description = "Call deadline (default 30).")
    int timeoutSeconds;

    @Override
    public Integer call() throws Exception {
      ObjectNode json = VerifyQuoteCommand.JSON.createObjectNode();
      try (RecoveryNode target = RecoveryNode.open(spec, node, timeoutSeconds)) {
        org.teekms.proto.RecoveryStatus status = target.status();
        RecoveryNode.describe(status, json);
        if (certOut != null && !status.getNodeCertificate().isEmpty()) {
          String pem =
              "-----BEGIN CERTIFICATE-----\n"
                  + java.util.Base64.getMimeEncoder(64, new byte[] {'\n'})
                      .encodeToString(status.getNodeCertificate().toByteArray())
                  + "\n-----END CERTIFICATE-----\n";
          Files.writeString(certOut, pem, StandardCharsets.US_ASCII);
          json.put("certificate", certOut.toString());
        }
        return JsonResult.print(
            spec,
            json,
            !"NOT_RECOVERING".equals(status.getState()) && !"FAILED".equals(status.getState()));
      } catch (RecoveryNode.Failed f) {
        return JsonResult.print(spec, JsonResult.fail(json, f.failure, f.getMessage()), false);
      }
    }
  }
}
