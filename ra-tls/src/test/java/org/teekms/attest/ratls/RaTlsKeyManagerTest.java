package org.teekms.attest.ratls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.X509Certificate;
import org.junit.jupiter.api.Test;

class RaTlsKeyManagerTest {
  @Test
  void presentsTheCurrentCredentialsForEcAndRotates() throws Exception {
    RaTlsCredentials first = SimulatedRaTls.credentials("km-1");
    RaTlsKeyManager km = new RaTlsKeyManager(first);
    assertEquals("ratls", km.chooseEngineServerAlias("EC", null, null));
    assertEquals("ratls", km.chooseEngineClientAlias(new String[] {"RSA", "EC"}, null, null));
    assertNull(
        km.chooseServerAlias("RSA", null, null), "a P-256 key is not offered for RSA suites");
    assertArrayEquals(new X509Certificate[] {first.certificate()}, km.getCertificateChain("ratls"));
    assertSame(first.privateKey(), km.getPrivateKey("ratls"));
    assertNull(km.getPrivateKey("other"));

    RaTlsCredentials second = SimulatedRaTls.credentials("km-2");
    km.rotate(second);
    assertSame(second.certificate(), km.getCertificateChain("ratls")[0]);
    assertSame(second.privateKey(), km.getPrivateKey("ratls"));
  }

  @Test
  void credentialsNeverPrintTheKey() throws Exception {
    RaTlsCredentials c = SimulatedRaTls.credentials("km-3");
    String s = c.toString();
    assertTrue(s.contains("<redacted>"), s);
    assertFalse(s.contains(java.util.HexFormat.of().formatHex(c.privateKey().getEncoded())));
  }
}
