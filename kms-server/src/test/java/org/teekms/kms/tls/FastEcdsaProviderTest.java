package org.teekms.kms.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import org.junit.jupiter.api.Test;

class FastEcdsaProviderTest {

  @Test
  void signaturesInteroperateWithSunEcBothWaysAndForgeriesFail() throws Exception {
    FastEcdsaProvider.install();
    FastEcdsaProvider.install(); // idempotent
    for (String[] c :
        new String[][] {{"secp256r1", "SHA256withECDSA"}, {"secp384r1", "SHA384withECDSA"}}) {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC", "SunEC");
      g.initialize(new ECGenParameterSpec(c[0]));
      KeyPair kp = g.generateKeyPair();
      byte[] msg = "tls 1.3 certificate verify".getBytes(StandardCharsets.UTF_8);

      Signature fast = Signature.getInstance(c[1]);
      fast.initSign(kp.getPrivate());
      fast.update(msg);
      byte[] sig = fast.sign();
      assertEquals(
          FastEcdsaProvider.NAME,
          fast.getProvider().getName(),
          "JSSE's lookup gets the fast provider");

      Signature sun = Signature.getInstance(c[1], "SunEC");
      sun.initVerify(kp.getPublic());
      sun.update(msg);
      assertTrue(sun.verify(sig), "SunEC verifies what the fast provider signed");

      sun.initSign(kp.getPrivate());
      sun.update(msg);
      byte[] sunSig = sun.sign();
      Signature check = Signature.getInstance(c[1]);
      check.initVerify(kp.getPublic());
      check.update(msg);
      assertTrue(check.verify(sunSig), "the fast provider verifies what SunEC signed");

      sunSig[sunSig.length - 1] ^= 1;
      check.initVerify(kp.getPublic());
      check.update(msg);
      boolean forged;
      try {
        forged = check.verify(sunSig);
      } catch (java.security.SignatureException malformed) {
        forged = false;
      }
      assertFalse(forged, "a flipped bit does not verify");
      check.initVerify(kp.getPublic());
      check.update("another message".getBytes(StandardCharsets.UTF_8));
      assertFalse(check.verify(sig));
    }
  }
}
