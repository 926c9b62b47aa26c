package org.teekms.governance;

import org.teekms.crypto.Digests;

/**
 * The compose hash: SHA-256 of app-compose.json's exact bytes (no re-serialization), as the CVM
 * measures it.
 */
public final class ComposeHash {
  private ComposeHash() {}

  public static byte[] of(byte[] appComposeJson) {
    return Digests.sha256(appComposeJson);
  }
}
