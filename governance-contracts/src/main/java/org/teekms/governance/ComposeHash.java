package org.teekms.governance;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** The compose hash: SHA-256 of app-compose.json's exact bytes (no re-serialization), as the CVM measures it. */
public final class ComposeHash {
  private ComposeHash() {}

  public static byte[] of(byte[] appComposeJson) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(appComposeJson);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }
}
