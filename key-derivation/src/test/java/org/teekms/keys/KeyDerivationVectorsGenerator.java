package org.teekms.keys;

import static org.teekms.keys.TestFixtures.APP_A;
import static org.teekms.keys.TestFixtures.APP_B;
import static org.teekms.keys.TestFixtures.INSTANCE_1;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Writes docs/key-derivation-vectors.json. Runs only when asked: {@code ./mvnw -B -q -pl
 * key-derivation test -Dtest=KeyDerivationVectorsGenerator -Dteekms.regenerateVectors=true}. {@link
 * KeyDerivationVectorsTest} checks the committed file without regenerating it.
 */
class KeyDerivationVectorsGenerator {
  static final Path VECTORS =
      Path.of(System.getProperty("teekms.docs", "../docs"), "key-derivation-vectors.json");
  private static final InsecureSecretAccess ACCESS = InsecureSecretAccess.get();
  private static final HexFormat HEX = HexFormat.of();

  /**
   * (generation, app, version) of the app roots in the file: two generations, two apps, three
   * versions.
   */
  record AppCase(int generation, AppId app, int version) {}

  static final List<AppCase> APP_CASES =
      List.of(
          new AppCase(1, APP_A, 1),
          new AppCase(1, APP_A, 2),
          new AppCase(2, APP_A, 1),
          new AppCase(2, APP_B, 3));

  static List<KeyRequest> keysOf(AppCase c) {
    List<KeyRequest> out =
        new ArrayList<>(
            List.of(
                KeyRequest.disk(
                    new VersionRef(c.generation(), c.app(), c.version()), INSTANCE_1, ""),
                KeyRequest.disk(
                    new VersionRef(c.generation(), c.app(), c.version()), INSTANCE_1, "data"),
                KeyRequest.envEncryption(new VersionRef(c.generation(), c.app(), c.version())),
                KeyRequest.tlsCa(new VersionRef(c.generation(), c.app(), c.version())),
                KeyRequest.signing(
                    new VersionRef(c.generation(), c.app(), c.version()),
                    KeyAlgorithm.SECP256K1,
                    "wallet/0"),
                KeyRequest.signing(
                    new VersionRef(c.generation(), c.app(), c.version()),
                    KeyAlgorithm.P256,
                    "wallet/0"),
                KeyRequest.signing(
                    new VersionRef(c.generation(), c.app(), c.version()),
                    KeyAlgorithm.ED25519,
                    "wallet/0")));
    for (KeyAlgorithm a : KeyAlgorithm.values()) {
      out.add(
          KeyRequest.user(new VersionRef(c.generation(), c.app(), c.version()), a, "user/demo"));
    }
    out.add(
        KeyRequest.user(
            new VersionRef(c.generation(), c.app(), c.version()),
            KeyAlgorithm.RAW_256,
            "ключ/鍵/🔑"));
    return out;
  }

  @Test
  @EnabledIfSystemProperty(named = "teekms.regenerateVectors", matches = "true")
  void regenerate() throws Exception {
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    String text = json.writeValueAsString(build()) + "\n";
    Files.writeString(VECTORS, text, StandardCharsets.UTF_8);
    System.out.println("wrote " + VECTORS.toAbsolutePath());
  }

  static Map<String, Object> build() {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put(
        "description",
        "tee-kms/v1 key derivation test vectors; see docs/key-derivation.md. "
            + "Root secrets here are test values. All byte strings are lowercase hex.");
    root.put("hkdf", map("hash", "SHA-256", "saltAscii", KeyRequest.DOMAIN_LABEL));
    int maxVersion = APP_CASES.stream().mapToInt(AppCase::version).max().orElseThrow();
    KeyVersionPolicy policy = new KeyVersionPolicy(maxVersion, 1, Set.of());
    try (RootKeyring ring = TestFixtures.keyring()) {
      KmsKeyDeriver kms = new KmsKeyDeriver(ring);
      List<Object> roots = new ArrayList<>();
      List<Object> kmsRoots = new ArrayList<>();
      List<Object> kmsCas = new ArrayList<>();
      for (var e : ring.generations().entrySet()) {
        roots.add(
            map(
                "generation",
                e.getKey(),
                "state",
                e.getValue().name(),
                "secret",
                TestFixtures.rootSecretHex(e.getKey())));
        try (DerivedKey k = kms.kmsRootKey(e.getKey())) {
          kmsRoots.add(keyEntry(k, null));
        }
        try (DerivedKey k = kms.kmsCaKey(e.getKey())) {
          kmsCas.add(keyEntry(k, null));
        }
      }
      root.put("roots", roots);
      root.put("kmsRootKeys", kmsRoots);
      root.put("kmsCaKeys", kmsCas);
      List<Object> appRoots = new ArrayList<>();
      List<Object> keys = new ArrayList<>();
      for (AppCase c : APP_CASES) {
        try (AppRootSecret a =
            kms.appRootSecret(new VersionRef(c.generation(), c.app(), c.version()), policy)) {
          AppKeyDeriver agent = new AppKeyDeriver(a);
          AppRootCertificate cert =
              kms.certifyAppRoot(new VersionRef(c.generation(), c.app(), c.version()), policy);
          Map<String, Object> e =
              map(
                  "generation",
                  c.generation(),
                  "appId",
                  c.app().toHex(),
                  "version",
                  c.version(),
                  "context",
                  HEX.formatHex(
                      KeyRequest.appRootSecret(new VersionRef(c.generation(), c.app(), c.version()))
                          .context()),
                  "secret",
                  HEX.formatHex(a.toByteArray(ACCESS)));
          try (DerivedKey signing = agent.appRootSigningKey()) {
            e.put("signingKey", keyEntry(signing, null));
          }
          e.put(
              "certificate",
              map(
                  "message",
                  HEX.formatHex(cert.message()),
                  "kmsSignature",
                  cert.kmsSignature().toHex()));
          appRoots.add(e);
          for (KeyRequest r : keysOf(c)) {
            try (DerivedKey k = kms.derive(r, policy)) {
              keys.add(keyEntry(k, k.algorithm().hasPublicKey() ? agent.certify(k) : null));
            }
          }
        }
      }
      root.put("appRoots", appRoots);
      root.put("keys", keys);
    }
    return root;
  }

  private static Map<String, Object> keyEntry(DerivedKey k, PurposeKeyCertificate cert) {
    KeyRequest r = k.request();
    Map<String, Object> e =
        map(
            "generation",
            r.generation(),
            "purpose",
            r.purpose().label(),
            "algorithm",
            r.algorithm().label(),
            "appId",
            r.appId() == null ? "" : r.appId().toHex(),
            "version",
            r.version(),
            "path",
            r.path(),
            "instanceId",
            r.instanceId() == null ? "" : r.instanceId().toHex(),
            "tier",
            r.isKmsTier() ? "kms" : "app",
            "context",
            HEX.formatHex(r.context()),
            "privateKey",
            HEX.formatHex(k.privateKeyBytes(ACCESS)));
    if (r.algorithm().hasPublicKey()) {
      e.put("publicKey", HEX.formatHex(k.publicKey()));
    }
    if (r.algorithm() == KeyAlgorithm.SECP256K1 || r.algorithm() == KeyAlgorithm.P256) {
      e.put("uncompressedPublicKey", HEX.formatHex(k.uncompressedPublicKey()));
    }
    if (r.algorithm() == KeyAlgorithm.SECP256K1) {
      e.put("address", k.ethereumAddress().toString());
    }
    if (r.purpose() == Purpose.DISK) {
      try (SecretBytes p = k.luksPassphrase()) {
        e.put("luksPassphrase", new String(p.toByteArray(ACCESS), StandardCharsets.US_ASCII));
      }
    }
    if (cert != null) {
      e.put(
          "certificate",
          map(
              "message",
              HEX.formatHex(cert.message()),
              "appRootSignature",
              cert.appRootSignature().toHex()));
    }
    return e;
  }

  private static Map<String, Object> map(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }
}
