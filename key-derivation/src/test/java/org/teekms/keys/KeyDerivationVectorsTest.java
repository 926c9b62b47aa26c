package org.teekms.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;

/**
 * Checks the committed docs/key-derivation-vectors.json (never regenerates it): every input in the
 * file is fed to the implementation and every output compared, through the KMS path and, for
 * app-tier keys, through a guest agent holding only the app root secret from the file. Every
 * signature chain in the file must verify against the file's KMS root.
 */
class KeyDerivationVectorsTest {
  private static final InsecureSecretAccess ACCESS = InsecureSecretAccess.get();
  private static final HexFormat HEX = HexFormat.of();

  @Test
  void committedVectorsMatchTheImplementation() throws Exception {
    JsonNode root = new ObjectMapper().readTree(KeyDerivationVectorsGenerator.VECTORS.toFile());
    assertEquals("SHA-256", root.at("/hkdf/hash").asText());
    assertEquals("tee-kms/v1", root.at("/hkdf/saltAscii").asText());

    // keyring from the file's roots, in order; the last one is current
    RootKeyring ring = null;
    for (JsonNode r : root.get("roots")) {
      SecretBytes s = SecretBytes.copyOf(HEX.parseHex(r.get("secret").asText()), ACCESS);
      if (ring == null) {
        ring = new RootKeyring(r.get("generation").asInt(), s);
      } else {
        ring.addCurrent(r.get("generation").asInt(), s);
      }
    }
    try (RootKeyring keyring = ring) {
      for (JsonNode r : root.get("roots")) {
        assertEquals(
            r.get("state").asText(), keyring.generations().get(r.get("generation").asInt()).name());
      }
      KmsKeyDeriver kms = new KmsKeyDeriver(keyring);
      int maxVersion = 1;
      for (JsonNode a : root.get("appRoots")) {
        maxVersion = Math.max(maxVersion, a.get("version").asInt());
      }
      KeyVersionPolicy policy = new KeyVersionPolicy(maxVersion, 1, Set.of());

      Map<Integer, EthereumAddress> kmsAddress = new HashMap<>();
      for (JsonNode v : root.get("kmsRootKeys")) {
        KeyRequest r = request(v);
        try (DerivedKey k = kms.kmsRootKey(r.generation())) {
          assertKey(v, k);
          kmsAddress.put(r.generation(), EthereumAddress.parse(v.get("address").asText()));
        }
      }

      for (JsonNode v : root.get("kmsCaKeys")) {
        KeyRequest r = request(v);
        assertEquals(KeyRequest.kmsCa(r.generation()), r);
        try (DerivedKey k = kms.kmsCaKey(r.generation())) {
          assertKey(v, k);
        }
      }
      assertEquals(root.get("kmsRootKeys").size(), root.get("kmsCaKeys").size());

      Map<String, AppRootCertificate> appCerts = new HashMap<>();
      Map<String, AppRootSecret> appSecrets = new HashMap<>();
      for (JsonNode v : root.get("appRoots")) {
        int gen = v.get("generation").asInt();
        AppId app = AppId.fromHex(v.get("appId").asText());
        int version = v.get("version").asInt();
        assertEquals(
            v.get("context").asText(),
            HEX.formatHex(KeyRequest.appRootSecret(new VersionRef(gen, app, version)).context()));
        try (AppRootSecret a = kms.appRootSecret(new VersionRef(gen, app, version), policy)) {
          assertEquals(v.get("secret").asText(), HEX.formatHex(a.toByteArray(ACCESS)));
        }
        // a guest agent holds only the secret from the file
        AppRootSecret fromFile =
            new AppRootSecret(
                new VersionRef(gen, app, version),
                SecretBytes.copyOf(HEX.parseHex(v.get("secret").asText()), ACCESS));
        try (DerivedKey signing = new AppKeyDeriver(fromFile).appRootSigningKey()) {
          assertKey(v.get("signingKey"), signing);
        }
        AppRootCertificate cert = kms.certifyAppRoot(new VersionRef(gen, app, version), policy);
        assertEquals(v.at("/certificate/message").asText(), HEX.formatHex(cert.message()));
        assertEquals(v.at("/certificate/kmsSignature").asText(), cert.kmsSignature().toHex());
        AppRootCertificate parsed =
            new AppRootCertificate(
                gen,
                app,
                version,
                Bytes.copyOf(HEX.parseHex(v.at("/signingKey/publicKey").asText())),
                EthSignature.fromHex(v.at("/certificate/kmsSignature").asText()));
        assertTrue(new SignatureChainVerifier(kmsAddress.get(gen)).verifyAppRoot(parsed).valid());
        appCerts.put(gen + "/" + app.toHex() + "/" + version, parsed);
        appSecrets.put(gen + "/" + app.toHex() + "/" + version, fromFile);
      }

      Set<String> purposeAlgs = new HashSet<>();
      Set<Integer> versions = new HashSet<>();
      Set<Integer> generations = new HashSet<>();
      EnumSet<KeyAlgorithm> algs = EnumSet.noneOf(KeyAlgorithm.class);
      for (JsonNode v : root.get("keys")) {
        KeyRequest r = request(v);
        String appKey = r.generation() + "/" + r.appId().toHex() + "/" + r.version();
        try (DerivedKey k = kms.derive(r, policy)) {
          assertKey(v, k);
        }
        if (!r.isKmsTier()) {
          try (DerivedKey k = new AppKeyDeriver(appSecrets.get(appKey)).derive(r)) {
            assertKey(v, k);
          }
        }
        if (v.has("certificate")) {
          PurposeKeyCertificate cert =
              new PurposeKeyCertificate(
                  r,
                  Bytes.copyOf(HEX.parseHex(v.get("publicKey").asText())),
                  EthSignature.fromHex(v.at("/certificate/appRootSignature").asText()));
          assertEquals(v.at("/certificate/message").asText(), HEX.formatHex(cert.message()));
          SignatureChainVerifier.Result res =
              new SignatureChainVerifier(kmsAddress.get(r.generation()))
                  .verify(new SignatureChain(appCerts.get(appKey), cert));
          assertTrue(res.valid(), () -> r + ": " + res);
        } else {
          assertFalse(
              r.algorithm().hasPublicKey(), "every asymmetric key in the file is certified");
        }
        purposeAlgs.add(r.purpose().label() + "/" + r.algorithm().label());
        versions.add(r.version());
        generations.add(r.generation());
        algs.add(r.algorithm());
      }
      // coverage: every purpose and key type, several versions and generations
      for (Purpose p : Purpose.values()) {
        if (!p.isKmsKey() && p != Purpose.APP_ROOT) {
          for (KeyAlgorithm a : KeyRequest.allowedAlgorithms(p)) {
            assertTrue(purposeAlgs.contains(p.label() + "/" + a.label()), p + "/" + a);
          }
        }
      }
      assertEquals(EnumSet.allOf(KeyAlgorithm.class), algs);
      assertTrue(versions.size() >= 3 && generations.size() >= 2);
      appSecrets.values().forEach(AppRootSecret::destroy);
    }
  }

  private static KeyRequest request(JsonNode v) {
    String app = v.get("appId").asText();
    String instance = v.get("instanceId").asText();
    KeyRequest r =
        new KeyRequest(
            v.get("generation").asInt(),
            Purpose.fromLabel(v.get("purpose").asText()),
            KeyAlgorithm.fromLabel(v.get("algorithm").asText()),
            app.isEmpty() ? null : AppId.fromHex(app),
            v.get("version").asInt(),
            v.get("path").asText(),
            instance.isEmpty() ? null : InstanceId.fromHex(instance));
    assertEquals(v.get("tier").asText(), r.isKmsTier() ? "kms" : "app");
    assertEquals(v.get("context").asText(), HEX.formatHex(r.context()), r::toString);
    return r;
  }

  private static void assertKey(JsonNode v, DerivedKey k) {
    assertEquals(v.get("context").asText(), HEX.formatHex(k.request().context()));
    assertEquals(
        v.get("privateKey").asText(), HEX.formatHex(k.privateKeyBytes(ACCESS)), k::toString);
    if (v.has("publicKey")) {
      assertEquals(v.get("publicKey").asText(), HEX.formatHex(k.publicKey()));
    } else {
      assertFalse(k.algorithm().hasPublicKey());
    }
    if (v.has("uncompressedPublicKey")) {
      assertEquals(
          v.get("uncompressedPublicKey").asText(), HEX.formatHex(k.uncompressedPublicKey()));
    }
    if (v.has("address")) {
      // exact EIP-55 text, and the parser accepts it (checksum valid)
      assertEquals(v.get("address").asText(), k.ethereumAddress().toString());
      assertEquals(k.ethereumAddress(), EthereumAddress.parse(v.get("address").asText()));
      assertEquals(
          org.web3j.crypto.Keys.toChecksumAddress(
              org.web3j.crypto.Keys.getAddress(
                  new java.math.BigInteger(
                      1, java.util.Arrays.copyOfRange(k.uncompressedPublicKey(), 1, 65)))),
          v.get("address").asText());
    }
    if (v.has("luksPassphrase")) {
      try (SecretBytes p = k.luksPassphrase()) {
        assertEquals(
            v.get("luksPassphrase").asText(),
            new String(p.toByteArray(ACCESS), StandardCharsets.US_ASCII));
      }
    }
  }
}
