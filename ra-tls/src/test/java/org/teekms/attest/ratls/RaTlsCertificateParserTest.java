package org.teekms.attest.ratls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Random;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.teekms.attest.ratls.RaTlsException.Reason;

class RaTlsCertificateParserTest {

  @Test
  void extractsDstackCompatibleExtensions() throws Exception {
    RaTlsCredentials creds = SimulatedRaTls.credentials("app");
    X509Certificate cert = creds.certificate();
    RaTlsEvidence e = RaTlsCertificateParser.parse(cert);
    assertEquals(1, e.formatVersion());
    assertArrayEquals(cert.getPublicKey().getEncoded(), e.spki().toByteArray());
    // dstack layout: the extension value is a DER OCTET STRING wrapping the raw quote / event log
    // JSON
    byte[] ext = cert.getExtensionValue("1.3.6.1.4.1.62397.1.1");
    byte[] inner =
        org.bouncycastle.asn1.ASN1OctetString.getInstance(
                org.bouncycastle.asn1.ASN1OctetString.getInstance(ext).getOctets())
            .getOctets();
    assertArrayEquals(e.quote().toByteArray(), inner);
    assertEquals(4, e.quote().get(0));
    assertTrue(
        new String(e.eventLogJson().toByteArray(), java.nio.charset.StandardCharsets.UTF_8)
            .startsWith("[{\"imr\":0"));
    assertTrue(e.gpuEvidence().isEmpty());
  }

  static RaTlsException reject(byte[] der) {
    return assertThrows(RaTlsException.class, () -> RaTlsCertificateParser.parse(der));
  }

  static byte[] withExtensions(Object... oidCriticalValue) throws Exception {
    KeyPair keys = RaTlsCertificateFactory.newKeyPair();
    var name = new org.bouncycastle.asn1.x500.X500Name("CN=t");
    var b =
        new JcaX509v3CertificateBuilder(
            name,
            java.math.BigInteger.ONE,
            new java.util.Date(),
            new java.util.Date(System.currentTimeMillis() + 3_600_000),
            name,
            keys.getPublic());
    for (int i = 0; i < oidCriticalValue.length; i += 3) {
      b.addExtension(
          new Extension(
              (ASN1ObjectIdentifier) oidCriticalValue[i],
              (Boolean) oidCriticalValue[i + 1],
              (byte[]) oidCriticalValue[i + 2]));
    }
    return b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()))
        .getEncoded();
  }

  static byte[] octets(byte[] content) throws Exception {
    return new DEROctetString(content).getEncoded();
  }

  @Test
  void aDstackStyleCertificateWithoutOurVersionParsesAsVersionZero() throws Exception {
    byte[] der =
        withExtensions(
            RaTlsOids.TDX_QUOTE,
            false,
            octets(new byte[] {4, 0, 2, 0}),
            RaTlsOids.EVENT_LOG,
            false,
            octets("[]".getBytes()));
    RaTlsEvidence e = RaTlsCertificateParser.parse(der);
    assertEquals(0, e.formatVersion());
    assertArrayEquals(new byte[] {4, 0, 2, 0}, e.quote().toByteArray());
  }

  @Test
  void rejectsMissingMalformedCriticalAndVersionedExtensions() throws Exception {
    assertEquals(Reason.MALFORMED_CERTIFICATE, reject(withExtensions()).reason());
    assertTrue(
        reject(withExtensions(RaTlsOids.EVENT_LOG, false, octets("[]".getBytes())))
            .getMessage()
            .contains("no TDX quote"));
    assertTrue(
        reject(withExtensions(RaTlsOids.TDX_QUOTE, false, octets(new byte[10])))
            .getMessage()
            .contains("no event log"));
    assertTrue(
        reject(
                withExtensions(
                    RaTlsOids.TDX_QUOTE,
                    false,
                    new byte[] {0x02, 0x01, 0x05},
                    RaTlsOids.EVENT_LOG,
                    false,
                    octets("[]".getBytes())))
            .getMessage()
            .contains("not a DER OCTET STRING"));
    assertTrue(
        reject(
                withExtensions(
                    RaTlsOids.TDX_QUOTE,
                    false,
                    octets(new byte[0]),
                    RaTlsOids.EVENT_LOG,
                    false,
                    octets("[]".getBytes())))
            .getMessage()
            .contains("empty"));
    assertTrue(
        reject(
                withExtensions(
                    RaTlsOids.TDX_QUOTE,
                    true,
                    octets(new byte[10]),
                    RaTlsOids.EVENT_LOG,
                    false,
                    octets("[]".getBytes())))
            .getMessage()
            .contains("unsupported critical extension"));
    assertTrue(
        reject(
                withExtensions(
                    RaTlsOids.TDX_QUOTE,
                    false,
                    octets(new byte[10]),
                    RaTlsOids.EVENT_LOG,
                    false,
                    octets("[]".getBytes()),
                    RaTlsOids.FORMAT_VERSION,
                    false,
                    new org.bouncycastle.asn1.ASN1Integer(2).getEncoded()))
            .getMessage()
            .contains("unsupported RA-TLS format version 2"));
    // trailing bytes after the OCTET STRING
    byte[] trailing = Arrays.copyOf(octets(new byte[10]), octets(new byte[10]).length + 1);
    assertEquals(
        Reason.MALFORMED_CERTIFICATE,
        reject(
                withExtensions(
                    RaTlsOids.TDX_QUOTE,
                    false,
                    trailing,
                    RaTlsOids.EVENT_LOG,
                    false,
                    octets("[]".getBytes())))
            .reason());
    assertEquals(
        Reason.OVERSIZED_EXTENSION,
        reject(new byte[RaTlsCertificateParser.MAX_CERTIFICATE_BYTES + 1]).reason());
    assertEquals(
        Reason.MALFORMED_CERTIFICATE, reject(new byte[] {0x30, 0x03, 0x02, 0x01}).reason());
  }

  @Test
  void truncationsAndMutationsNeverThrowUncheckedAndNeverVerify() throws Exception {
    byte[] der = SimulatedRaTls.credentials("fuzz").certificate().getEncoded();
    RaTlsVerifier verifier = SimulatedRaTls.verifier().cache(java.time.Duration.ZERO, 1).build();
    verifier.verify(org.teekms.attest.tdx.Pem.certificate(der)); // the original verifies
    Random random = new Random(44);
    int parsedOk = 0;
    for (int round = 0; round < 1500; round++) {
      byte[] m;
      if (round % 4 == 0) {
        m = Arrays.copyOf(der, random.nextInt(der.length));
      } else {
        m = der.clone();
        for (int f = 1 + random.nextInt(3); f > 0; f--) {
          m[random.nextInt(m.length)] ^= (byte) (1 + random.nextInt(255));
        }
      }
      try {
        RaTlsCertificateParser.parse(m);
        parsedOk++;
      } catch (RaTlsException expected) {
        // typed rejection
      }
      X509Certificate cert;
      try {
        cert = org.teekms.attest.tdx.Pem.certificate(m);
      } catch (java.security.cert.CertificateException notACertificate) {
        continue;
      }
      byte[] mutated = m;
      RaTlsException e =
          assertThrows(
              RaTlsException.class,
              () -> verifier.verify(cert),
              () -> "mutated certificate verified at round " + Arrays.mismatch(der, mutated));
      assertTrue(e.reason() != null);
    }
    assertTrue(parsedOk > 100, "most byte flips hit extension contents, which parse: " + parsedOk);
  }
}
