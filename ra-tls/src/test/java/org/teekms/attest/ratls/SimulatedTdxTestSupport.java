package org.teekms.attest.ratls;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

final class SimulatedTdxTestSupport {
  private SimulatedTdxTestSupport() {}

  static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
