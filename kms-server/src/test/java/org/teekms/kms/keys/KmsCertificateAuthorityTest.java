package org.teekms.kms.keys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.teekms.keys.AppId;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.KeyRequest;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.RootKeyring;
import org.teekms.keys.SecretBytes;
import org.teekms.keys.VersionRef;

/**
 * The KMS CA certificates (docs/key-derivation.md §10): structure, determinism and the documented
 * test vector.
 */
class KmsCertificateAuthorityTest {

  private static final HexFormat HEX = HexFormat.of();

  /** Root secret 00 01 … 1f, generation 1 (as in docs/key-derivation-vectors.json). */
  private static final byte[] ROOT =
      HEX.parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");

  private static final AppId APP = AppId.fromHex("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");

  static X509Certificate x509(byte[] der) throws Exception {
    return (X509Certificate)
        CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
  }

  @Test
  void kmsCaAndAppCaCertificatesAreDeterministicAndChain() throws Exception {
    try (RootKeyring ring =
        new RootKeyring(1, SecretBytes.copyOf(ROOT, InsecureSecretAccess.get()))) {
      KmsKeyDeriver d = new KmsKeyDeriver(ring);
      try (DerivedKey kmsCa = d.kmsCaKey(1);
          DerivedKey root = d.kmsRootKey(1);
          DerivedKey appCa =
              d.derive(
                  KeyRequest.tlsCa(new VersionRef(1, APP, 1)),
                  new KeyVersionPolicy(1, 1, java.util.Set.of()))) {
        String address = root.ethereumAddress().toString();
        byte[] caDer = KmsCertificateAuthority.kmsCaCertificate(kmsCa, address);
        byte[] appDer = KmsCertificateAuthority.appCaCertificate(kmsCa, address, appCa);
        X509Certificate ca = x509(caDer);
        X509Certificate app = x509(appDer);
        ca.verify(ca.getPublicKey());
        app.verify(ca.getPublicKey());
        assertEquals(1, ca.getBasicConstraints());
        assertEquals(0, app.getBasicConstraints());
        assertTrue(ca.getKeyUsage()[5] && app.getKeyUsage()[5], "keyCertSign");
        assertEquals(ca.getSubjectX500Principal(), app.getIssuerX500Principal());
        assertEquals(
            "CN=tee-kms app CA v1,O=0x" + APP.toHex(), app.getSubjectX500Principal().getName());
        assertEquals(
            "CN=tee-kms KMS CA,OU=generation 1,O=" + address,
            ca.getSubjectX500Principal().getName());
        assertEquals(
            KmsCertificateAuthority.NOT_BEFORE.toEpochMilli(), ca.getNotBefore().getTime());
        // Same inputs, same bytes (RFC 6979 signatures); a cache hit returns a copy, not the cached
        // array.
        assertArrayEquals(caDer, KmsCertificateAuthority.kmsCaCertificate(kmsCa, address));
        assertArrayEquals(appDer, KmsCertificateAuthority.appCaCertificate(kmsCa, address, appCa));
        caDer[0] ^= 1;
        assertFalse(
            java.util.Arrays.equals(
                caDer, KmsCertificateAuthority.kmsCaCertificate(kmsCa, address)));
        // Documented vectors (docs/key-derivation.md §10).
        assertEquals(VECTOR_KMS_CA_KEY, HEX.formatHex(kmsCa.publicKey()));
        assertEquals(
            VECTOR_KMS_CA, sha256(KmsCertificateAuthority.kmsCaCertificate(kmsCa, address)));
        assertEquals(VECTOR_APP_CA, sha256(appDer));
        // Wrong inputs are refused.
        assertThrows(
            IllegalArgumentException.class,
            () -> KmsCertificateAuthority.appCaCertificate(appCa, address, appCa));
        assertThrows(
            IllegalArgumentException.class,
            () -> KmsCertificateAuthority.kmsCaCertificate(appCa, address));
      }
    }
  }

  static final String VECTOR_KMS_CA_KEY =
      "02c211b5c2577cdadc91377d03bdc6ff0be7e3cba0a86a71630d5773ffa03ec779";
  static final String VECTOR_KMS_CA =
      "3e437b643100baff2fa9cbe7e42717caff471f90a81f999840c9c2bb03bb44ec";
  static final String VECTOR_APP_CA =
      "c7a104f0ecab3bd68c995fcbf4756b0e2350742205263187d7f1eeddc926e2d3";

  private static String sha256(byte[] b) throws Exception {
    return HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }
}
