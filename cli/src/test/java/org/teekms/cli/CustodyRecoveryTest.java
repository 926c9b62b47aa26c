package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.attest.ratls.RaTlsCredentials;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.attest.ratls.SimulatedRaTls;
import org.teekms.attest.tdx.Pem;
import org.teekms.custody.BackupStore;
import org.teekms.custody.CustodyException;
import org.teekms.custody.RecipientKey;
import org.teekms.custody.RecipientKeyPair;
import org.teekms.custody.RootBackup;
import org.teekms.custody.RootRecovery;
import org.teekms.custody.Shamir;
import org.teekms.governance.ChainClient;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.testing.AnvilNode;
import org.teekms.keys.AppId;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.InstanceId;
import org.teekms.keys.KeyRequest;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.RootKeyring;
import org.teekms.keys.SecretBytes;
import org.web3j.crypto.Credentials;

/**
 * Root custody end to end on a real chain (anvil) through the CLI: the registry owner registers
 * three custodians (keys from {@code teekms custody keygen}), the KMS's generation-2 root (the
 * key-derivation vectors' root) is backed up 2-of-3 into a share store and published with {@code
 * teekms gov publish-backup}; every KMS node is then lost. A fresh attested node (simulated TDX,
 * RA-TLS) is authorized on chain; custodians refuse before the authorization, for another node key,
 * for an unattested certificate and for an untrusted OS, then two of them release; the node
 * recovers the root and derives byte-identical keys (checked against
 * docs/key-derivation-vectors.json).
 */
@Timeout(180)
class CustodyRecoveryTest {
  private static final HexFormat HEX = HexFormat.of();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int GENERATION = 2;

  static AnvilNode anvil;
  static ChainClient chain;
  static Credentials owner;
  static KmsRegistry registry;

  @TempDir Path dir;

  @BeforeAll
  static void startChain() throws Exception {
    anvil = AnvilNode.start();
    chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID);
    owner = anvil.fundedAccount();
    registry = KmsRegistry.deploy(chain, owner, owner.getAddress()).registry();
  }

  @AfterAll
  static void stopChain() {
    if (chain != null) chain.close();
    if (anvil != null) anvil.close();
  }

  record Run(int exit, JsonNode json, String err) {}

  static Run run(String... args) throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    picocli.CommandLine cmd = TeeKmsCli.newCommandLine();
    cmd.setOut(new PrintWriter(out));
    cmd.setErr(new PrintWriter(err));
    int exit = cmd.execute(args);
    String text = out.toString().trim();
    return new Run(exit, text.isEmpty() ? null : JSON.readTree(text), err.toString());
  }

  private Path ownerKey() throws Exception {
    return Files.writeString(
        dir.resolve("owner.key"),
        org.web3j.utils.Numeric.toHexStringNoPrefixZeroPadded(
            owner.getEcKeyPair().getPrivateKey(), 64));
  }

  private String[] chainArgs() {
    return new String[] {
      "--rpc-url", anvil.rpcUrl(), "--chain-id", Long.toString(AnvilNode.CHAIN_ID)
    };
  }

  private static String[] concat(String[]... parts) {
    List<String> out = new ArrayList<>();
    for (String[] p : parts) out.addAll(List.of(p));
    return out.toArray(new String[0]);
  }

  private static JsonNode vectors() throws Exception {
    return JSON.readTree(
        Path.of(System.getProperty("teekms.docs", "../docs"), "key-derivation-vectors.json")
            .toFile());
  }

  /** The vectors' root secret of {@link #GENERATION}. */
  private static SecretBytes vectorRoot() throws Exception {
    for (JsonNode r : vectors().get("roots")) {
      if (r.get("generation").asInt() == GENERATION) {
        return SecretBytes.copyOf(
            HEX.parseHex(r.get("secret").asText()), InsecureSecretAccess.get());
      }
    }
    throw new AssertionError("no root of generation " + GENERATION + " in the vectors");
  }

  private Path pem(String name, RaTlsCredentials c) throws Exception {
    return Files.writeString(dir.resolve(name), Pem.encode(c.certificate()));
  }

  @Test
  void losingEveryKmsNodeLosesNoKeysWhenThresholdCustodiansRelease() throws Exception {
    Path ownerKey = ownerKey();
    String[] gov = concat(chainArgs(), new String[] {"--key-file", ownerKey.toString()});

    // 1. The KMS's generation-2 identity is on chain (its KMS root public key); the custody
    // contract is deployed.
    try (SecretBytes root = vectorRoot()) {
      byte[] rootKey = RootRecovery.rootPublicKey(GENERATION, root);
      registry.setKmsIdentity(
          1, RootRecovery.rootPublicKey(1, root), new byte[] {1}, new byte[] {1});
      registry.setKmsIdentity(GENERATION, rootKey, new byte[] {1}, new byte[] {1});
    }
    Run deployed =
        run(concat(new String[] {"gov", "deploy-custody", "--registry", registry.address()}, gov));
    assertEquals(0, deployed.exit(), deployed.err());
    String custody = deployed.json().get("custody").asText();
    String[] custodyGov = concat(gov, new String[] {"--custody", custody});

    // 2. Three custodians make keys; the registry owner registers them.
    List<Path> keys = new ArrayList<>();
    List<RecipientKey> publicKeys = new ArrayList<>();
    String[] kinds = {"kms-cluster", "hsm", "operator"};
    for (int i = 1; i <= 3; i++) {
      Path key = dir.resolve("custodian-" + i + ".key");
      Run keygen = run("custody", "keygen", "--out", key.toString());
      assertEquals(0, keygen.exit(), keygen.err());
      keys.add(key);
      String pub = keygen.json().get("publicKey").asText();
      publicKeys.add(RecipientKey.decode(HEX.parseHex(pub.substring(2))));
      Run reg =
          run(
              concat(
                  new String[] {
                    "gov",
                    "register-custodian",
                    "--public-key",
                    pub,
                    "--kind",
                    kinds[i - 1],
                    "--name",
                    "custodian " + i
                  },
                  custodyGov));
      assertEquals(0, reg.exit(), reg.json() + reg.err());
      assertEquals(
          keygen.json().get("custodianId").asText(), reg.json().get("custodianId").asText());
    }
    assertEquals(
        Files.getPosixFilePermissions(keys.get(0)),
        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));

    // 3. The KMS backs the root up 2-of-3 into the share store; the owner publishes it; each
    // custodian checks.
    Path store = dir.resolve("store");
    try (SecretBytes root = vectorRoot()) {
      new BackupStore(store)
          .write(RootBackup.create(GENERATION, root, 2, publicKeys, new SecureRandom()));
    }
    Run published =
        run(
            concat(
                new String[] {
                  "gov", "publish-backup", "--store", store.toString(), "--generation", "2"
                },
                custodyGov));
    assertEquals(0, published.exit(), published.json() + published.err());
    assertEquals(2, published.json().get("threshold").asInt());
    for (int i = 1; i <= 3; i++) {
      Run check =
          run(
              concat(
                  new String[] {"custody", "check-share"}, custodianArgs(custody, keys, store, i)));
      assertEquals(0, check.exit(), check.json() + check.err());
      assertTrue(check.json().get("valid").asBoolean());
    }
    Run wrongIndex =
        run(
            concat(
                new String[] {"custody", "check-share"},
                chainArgs(),
                new String[] {
                  "--custody",
                  custody,
                  "--key-file",
                  keys.get(0).toString(),
                  "--store",
                  store.toString(),
                  "--generation",
                  "2",
                  "--index",
                  "2"
                }));
    assertEquals(1, wrongIndex.exit());
    assertEquals("NOT_THIS_CUSTODIAN", wrongIndex.json().get("failure").asText());

    // 4. Every KMS node is gone. A fresh node boots (simulated TDX) with an RA-TLS key; the owner
    // allows it as a KMS.
    RaTlsCredentials node = kmsNode("kms-recovery");
    RaTlsIdentity id = SimulatedRaTls.verifier().build().verify(node.certificate());
    registry.addKmsMeasurement(id.mrAggregated().toByteArray());
    registry.addKmsDevice(id.deviceId().toByteArray());
    registry.addOsImage(id.osImageHash().orElseThrow().toByteArray());
    registry.setTcbPolicy(List.of(id.tcbStatus().name()), List.of());
    Path nodeCert = pem("node.pem", node);
    Path collateral = SimulatedRaTls.TDX.collateral().writeTo(dir.resolve("collateral"));
    Path rootCa =
        Files.writeString(dir.resolve("root.pem"), SimulatedRaTls.TDX.rootCertificatePem());
    String golden = id.mrSystem().hex();
    String[] attestation = {
      "--registry",
      registry.address(),
      "--node-cert",
      nodeCert.toString(),
      "--collateral",
      collateral.toString(),
      "--root-ca",
      rootCa.toString(),
      "--mr-system",
      golden
    };

    // 5. Without an on-chain authorization no custodian releases anything.
    String noRequest = "0x" + "11".repeat(32);
    Run early = release(custody, keys, store, 1, noRequest, attestation);
    assertEquals(1, early.exit(), early.err());
    assertEquals("RECOVERY_NOT_AUTHORIZED", early.json().get("failure").asText());
    assertEquals("no such recovery request", early.json().get("error").asText());
    assertFalse(Files.exists(dir.resolve("share-1.out")));

    // 6. The owner authorizes recovery of generation 2 to this node's attested key.
    Run authorized =
        run(
            concat(
                new String[] {
                  "gov",
                  "authorize-recovery",
                  "--generation",
                  "2",
                  "--node-cert",
                  nodeCert.toString(),
                  "--valid-blocks",
                  "100"
                },
                custodyGov));
    assertEquals(0, authorized.exit(), authorized.json() + authorized.err());
    String request = authorized.json().get("requestId").asText();
    assertEquals(
        "0x" + HEX.formatHex(RecipientKey.of(node.certificate().getPublicKey()).id()),
        authorized.json().get("nodeKeyId").asText());

    // 7. Refusals: another (attested) node's key, an unattested certificate, an OS the custodian
    // does not trust.
    RaTlsCredentials other = kmsNode("kms-other");
    Run otherNode =
        release(
            custody,
            keys,
            store,
            1,
            request,
            replace(attestation, "--node-cert", pem("other.pem", other).toString()));
    assertEquals(
        "RECOVERY_NOT_AUTHORIZED",
        otherNode.json().get("failure").asText(),
        otherNode.json().toString());
    assertEquals(
        "recovery request is for another node key", otherNode.json().get("error").asText());
    Run untrustedOs =
        release(
            custody, keys, store, 1, request, replace(attestation, "--mr-system", "ab".repeat(32)));
    assertEquals(
        "NODE_OS_NOT_TRUSTED",
        untrustedOs.json().get("failure").asText(),
        untrustedOs.json().toString());
    Run unattested =
        release(
            custody,
            keys,
            store,
            1,
            request,
            replace(
                attestation,
                "--node-cert",
                Files.writeString(dir.resolve("plain.pem"), Pem.encode(plainCertificate()))
                    .toString()));
    assertEquals(
        "NODE_NOT_ATTESTED",
        unattested.json().get("failure").asText(),
        unattested.json().toString());
    registry.removeKmsDevice(id.deviceId().toByteArray());
    Run notAllowed = release(custody, keys, store, 1, request, attestation);
    assertEquals(
        "NODE_NOT_ALLOWED",
        notAllowed.json().get("failure").asText(),
        notAllowed.json().toString());
    assertEquals(
        "the registry does not allow the node as a KMS: KMS device not allowed",
        notAllowed.json().get("error").asText());
    registry.addKmsDevice(id.deviceId().toByteArray());
    assertFalse(Files.exists(dir.resolve("share-1.out")));

    // 8. Custodians 1 and 3 release; the node verifies every share against the on-chain commitments
    // and recovers.
    Map<Integer, byte[]> envelopes = new TreeMap<>();
    for (int i : new int[] {1, 3}) {
      Run released = release(custody, keys, store, i, request, attestation);
      assertEquals(0, released.exit(), released.json() + released.err());
      assertTrue(released.json().get("released").asBoolean());
      envelopes.put(i, Files.readAllBytes(dir.resolve("share-" + i + ".out")));
    }
    org.teekms.governance.RootCustody onChain =
        org.teekms.governance.RootCustody.at(chain, custody, null);
    org.teekms.custody.Commitments commitments =
        org.teekms.custody.Commitments.decode(
            onChain.backup(GENERATION).commitments().toByteArray());
    byte[] published2 = registry.kmsIdentity(GENERATION).rootPublicKeys().toByteArray();
    try (RecipientKeyPair nodeKey = RecipientKeyPair.of(node.privateKey());
        Shamir.Recovered recovered =
            RootRecovery.recover(
                GENERATION,
                commitments,
                HEX.parseHex(request.substring(2)),
                nodeKey,
                envelopes,
                published2);
        SecretBytes original = vectorRoot()) {
      assertTrue(recovered.secret().equalsSecret(original));
      assertEquals(List.of(), recovered.badIndices());
      assertKeysMatchTheVectors(recovered.secret());

      // One share alone reveals nothing usable: recovery needs the threshold.
      CustodyException tooFew =
          org.junit.jupiter.api.Assertions.assertThrows(
              CustodyException.class,
              () ->
                  RootRecovery.recover(
                      GENERATION,
                      commitments,
                      HEX.parseHex(request.substring(2)),
                      nodeKey,
                      Map.of(1, envelopes.get(1)),
                      published2));
      assertEquals(CustodyException.Reason.NOT_ENOUGH_SHARES, tooFew.reason());
    }

    // 9. A revoked request is refused by the remaining custodian.
    Run revoked =
        run(concat(new String[] {"gov", "revoke-recovery", "--request", request}, custodyGov));
    assertEquals(0, revoked.exit(), revoked.err());
    Run late = release(custody, keys, store, 2, request, attestation);
    assertEquals("recovery request revoked", late.json().get("error").asText());
  }

  /**
   * Keys the recovered root derives equal the committed vectors: the KMS root key and an app's disk
   * key.
   */
  private static void assertKeysMatchTheVectors(SecretBytes recovered) throws Exception {
    JsonNode v = vectors();
    try (RootKeyring ring =
        new RootKeyring(
            GENERATION,
            SecretBytes.copyOf(
                recovered.toByteArray(InsecureSecretAccess.get()), InsecureSecretAccess.get()))) {
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      int checked = 0;
      for (JsonNode k : v.get("kmsRootKeys")) {
        if (k.get("generation").asInt() != GENERATION) continue;
        try (DerivedKey root = kms.kmsRootKey(GENERATION)) {
          assertEquals(k.get("publicKey").asText(), HEX.formatHex(root.publicKey()));
          checked++;
        }
      }
      for (JsonNode k : v.get("keys")) {
        if (k.get("generation").asInt() != GENERATION || !k.get("purpose").asText().equals("disk"))
          continue;
        KeyRequest r =
            KeyRequest.disk(
                new org.teekms.keys.VersionRef(
                    GENERATION, AppId.fromHex(k.get("appId").asText()), k.get("version").asInt()),
                InstanceId.fromHex(k.get("instanceId").asText()),
                k.get("path").asText());
        try (DerivedKey disk =
            kms.derive(r, new KeyVersionPolicy(k.get("version").asInt(), 1, java.util.Set.of()))) {
          assertEquals(
              k.get("privateKey").asText(),
              HEX.formatHex(disk.privateKeyBytes(InsecureSecretAccess.get())));
          checked++;
        }
      }
      assertTrue(checked >= 3, "checked " + checked + " vectors");
    }
  }

  /** A simulated KMS CVM whose RTMR3 names {@link #OS_IMAGE}, with its RA-TLS credentials. */
  private static RaTlsCredentials kmsNode(String compose) throws Exception {
    byte[] instance = new byte[20];
    instance[0] = (byte) compose.hashCode();
    org.teekms.attest.sim.SimulatedCvm cvm =
        SimulatedRaTls.TDX
            .newCvm(new byte[48], false)
            .boot(
                org.teekms.attest.sim.SimulatedCvm.App.ofCompose(compose, instance)
                    .withOsImageHash(OS_IMAGE));
    return SimulatedRaTls.factory(cvm, null).create(compose);
  }

  private static final byte[] OS_IMAGE = HEX.parseHex("5e".repeat(32));

  private String[] custodianArgs(String custody, List<Path> keys, Path store, int index) {
    return concat(
        chainArgs(),
        new String[] {
          "--custody",
          custody,
          "--key-file",
          keys.get(index - 1).toString(),
          "--store",
          store.toString(),
          "--generation",
          Integer.toString(GENERATION),
          "--index",
          Integer.toString(index)
        });
  }

  private Run release(
      String custody, List<Path> keys, Path store, int index, String request, String[] attestation)
      throws Exception {
    return run(
        concat(
            new String[] {"custody", "release"},
            custodianArgs(custody, keys, store, index),
            attestation,
            new String[] {
              "--request", request, "--out", dir.resolve("share-" + index + ".out").toString()
            }));
  }

  private static String[] replace(String[] args, String option, String value) {
    String[] out = args.clone();
    for (int i = 0; i < out.length - 1; i++) if (out[i].equals(option)) out[i + 1] = value;
    return out;
  }

  /** A self-signed P-256 certificate without any attestation. */
  private static java.security.cert.X509Certificate plainCertificate() throws Exception {
    java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("EC");
    g.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
    java.security.KeyPair kp = g.generateKeyPair();
    org.bouncycastle.asn1.x500.X500Name name = new org.bouncycastle.asn1.x500.X500Name("CN=plain");
    java.util.Date now = new java.util.Date();
    org.bouncycastle.cert.X509v3CertificateBuilder b =
        new org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder(
            name,
            java.math.BigInteger.ONE,
            now,
            new java.util.Date(now.getTime() + 3_600_000),
            name,
            kp.getPublic());
    return new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter()
        .getCertificate(
            b.build(
                new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA")
                    .build(kp.getPrivate())));
  }
}
