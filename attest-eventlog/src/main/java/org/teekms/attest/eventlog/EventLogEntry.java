package org.teekms.attest.eventlog;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * One entry of a dstack-format event log: the register it extends ({@code imr} 0-3 = RTMR0-3), the
 * TCG event type, the SHA-384 digest extended into the register, and for dstack runtime events the
 * event name and payload.
 *
 * <p>For runtime events ({@link RuntimeEventDigest#DSTACK_RUNTIME_EVENT_TYPE}) the digest is always
 * recomputed from name and payload; {@link #digest()} is what the log claimed and may be {@code
 * null}. For firmware/boot events (RTMR0-2) the log's digest is the only thing there is: it
 * measures data not in the log.
 */
public final class EventLogEntry {
  private final int imr;
  private final long eventType;
  private final byte[] digest;
  private final String name;
  private final byte[] payload;

  public EventLogEntry(int imr, long eventType, byte[] digest, String name, byte[] payload) {
    if (imr < 0 || imr > 3) {
      throw new IllegalArgumentException("imr must be 0..3, got " + imr);
    }
    if (eventType < 0 || eventType > 0xFFFF_FFFFL) {
      throw new IllegalArgumentException("event type must be a uint32");
    }
    if (digest != null && digest.length != RuntimeEventDigest.DIGEST_LENGTH) {
      throw new IllegalArgumentException("digest must be 48 bytes (SHA-384)");
    }
    if (digest == null && eventType != RuntimeEventDigest.DSTACK_RUNTIME_EVENT_TYPE) {
      throw new IllegalArgumentException("a non-runtime event needs its digest");
    }
    this.imr = imr;
    this.eventType = eventType;
    this.digest = digest == null ? null : digest.clone();
    this.name = Objects.requireNonNull(name, "name");
    this.payload = Objects.requireNonNull(payload, "payload").clone();
  }

  /** A dstack runtime event on RTMR3 with its digest computed (as the guest agent writes it). */
  public static EventLogEntry runtime(String name, byte[] payload) {
    return new EventLogEntry(
        3,
        RuntimeEventDigest.DSTACK_RUNTIME_EVENT_TYPE,
        RuntimeEventDigest.v1(name, payload),
        name,
        payload);
  }

  public int imr() {
    return imr;
  }

  public long eventType() {
    return eventType;
  }

  /** The digest the log claims, or {@code null} when the log carried none. */
  public byte[] digest() {
    return digest == null ? null : digest.clone();
  }

  public String name() {
    return name;
  }

  public byte[] payload() {
    return payload.clone();
  }

  public boolean isRuntimeEvent() {
    return eventType == RuntimeEventDigest.DSTACK_RUNTIME_EVENT_TYPE;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof EventLogEntry e
        && imr == e.imr
        && eventType == e.eventType
        && Arrays.equals(digest, e.digest)
        && name.equals(e.name)
        && Arrays.equals(payload, e.payload);
  }

  @Override
  public int hashCode() {
    return Objects.hash(imr, eventType, name, Arrays.hashCode(digest), Arrays.hashCode(payload));
  }

  @Override
  public String toString() {
    return "EventLogEntry{imr="
        + imr
        + ", type=0x"
        + Long.toHexString(eventType)
        + ", name="
        + name
        + ", payload="
        + HexFormat.of().formatHex(payload)
        + "}";
  }
}
