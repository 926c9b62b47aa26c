package org.teekms.attest.eventlog;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.teekms.crypto.Digests;

/**
 * dstack's runtime-event measurement (version 1, as in dstack {@code
 * cc-eventlog/src/runtime_events.rs}): {@code digest = SHA-384(le32(0x08000001) ‖ ":" ‖ name ‖ ":"
 * ‖ payload)} and {@code RTMR := SHA-384(RTMR ‖ digest)} starting from 48 zero bytes.
 */
public final class RuntimeEventDigest {
  /** The TCG event type dstack uses for runtime events. */
  public static final long DSTACK_RUNTIME_EVENT_TYPE = 0x08000001L;

  public static final int DIGEST_LENGTH = 48;

  private static final byte[] TYPE_LE = {0x01, 0x00, 0x00, 0x08};
  private static final byte[] COLON = {':'};

  private RuntimeEventDigest() {}

  public static byte[] v1(String name, byte[] payload) {
    MessageDigest sha384 = sha384();
    sha384.update(TYPE_LE);
    sha384.update(COLON);
    sha384.update(name.getBytes(StandardCharsets.UTF_8));
    sha384.update(COLON);
    sha384.update(payload);
    return sha384.digest();
  }

  /** One register extension: SHA-384(register ‖ digest). */
  public static byte[] extend(byte[] register, byte[] digest) {
    MessageDigest sha384 = sha384();
    sha384.update(register);
    sha384.update(digest);
    return sha384.digest();
  }

  static MessageDigest sha384() {
    return Digests.newDigest("SHA-384");
  }
}
