package org.teekms.attest.eventlog;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.teekms.crypto.Bytes;

/**
 * The attestation blob of dstack's guest API {@code /Attest} ({@code @phala/dstack-sdk} {@code
 * attest(reportData)}): dstack's {@code VersionedAttestation::V0}, SCALE-encoded, which its guest
 * agent returns for TDX. It carries the TD quote, the full event log, the RTMR3 runtime events
 * again on their own, the 64-byte report data and the VM's {@code vm_config} JSON. The layout, byte
 * by byte, with a vector, is in docs/guest-api.md (Attest).
 *
 * <p>{@link #decode} is strict: canonical compact lengths only, every bound below checked before
 * allocating, the TDX variant only, no trailing bytes, UTF-8 strings. It proves nothing about the
 * contents: verify the quote (DCAP), then replay {@link #eventLog()} against it ({@link
 * EventLogVerifier}); {@link #runtimeEvents()} must be the log's RTMR3 runtime events.
 *
 * @param quote the TD quote (REPORTDATA = {@code reportData})
 * @param eventLog every event: firmware events (RTMR0-2) and the runtime events (RTMR3) with their
 *     digests
 * @param runtimeEvents the RTMR3 runtime events (name, payload), in order
 * @param reportData 64 bytes
 * @param config the VM configuration JSON (dstack's {@code vm_config}), possibly empty
 */
public record DstackAttestation(
    Bytes quote,
    List<EventLogEntry> eventLog,
    List<RuntimeEvent> runtimeEvents,
    Bytes reportData,
    String config) {

  /** dstack's own cap on an encoded attestation (10 MiB). */
  public static final int MAX_BYTES = 10 * 1024 * 1024;

  public static final int MAX_QUOTE_BYTES = 64 * 1024;
  public static final int MAX_CONFIG_BYTES = 64 * 1024;

  /** {@code VersionedAttestation::V0}. */
  static final int VERSION_V0 = 0;

  /** {@code AttestationQuote::DstackTdx}. */
  static final int QUOTE_DSTACK_TDX = 0;

  /**
   * One dstack runtime event: an event name and its payload (digest = {@link
   * RuntimeEventDigest#v1}).
   */
  public record RuntimeEvent(String name, Bytes payload) {
    public RuntimeEvent {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(payload, "payload");
    }
  }

  public DstackAttestation {
    Objects.requireNonNull(quote, "quote");
    eventLog = List.copyOf(eventLog);
    runtimeEvents = List.copyOf(runtimeEvents);
    Objects.requireNonNull(config, "config");
    if (reportData.length() != 64) {
      throw new IllegalArgumentException("report data is 64 bytes, got " + reportData.length());
    }
  }

  /**
   * What dstack's agent answers for a quote and its event log: the runtime events are the log's
   * RTMR3 runtime events, and runtime events without a digest get theirs computed.
   */
  public static DstackAttestation of(
      byte[] quote, List<EventLogEntry> log, byte[] reportData, String config) {
    List<EventLogEntry> full = new ArrayList<>(log.size());
    List<RuntimeEvent> runtime = new ArrayList<>();
    for (EventLogEntry e : log) {
      if (e.isRuntimeEvent() && e.imr() == 3) {
        runtime.add(new RuntimeEvent(e.name(), Bytes.copyOf(e.payload())));
        full.add(e.digest() != null ? e : EventLogEntry.runtime(e.name(), e.payload()));
      } else {
        full.add(e);
      }
    }
    return new DstackAttestation(
        Bytes.copyOf(quote), full, runtime, Bytes.copyOf(reportData), config);
  }

  // ---- encoding
  // -------------------------------------------------------------------------------------------------

  public byte[] encode() {
    ByteArrayOutputStream out = new ByteArrayOutputStream(quote.length() + 4096);
    out.write(VERSION_V0);
    out.write(QUOTE_DSTACK_TDX);
    bytes(out, quote.toByteArray());
    compact(out, eventLog.size());
    for (EventLogEntry e : eventLog) {
      u32(out, e.imr());
      u32(out, e.eventType());
      byte[] digest = e.digest();
      bytes(out, digest == null ? new byte[0] : digest);
      bytes(out, e.name().getBytes(StandardCharsets.UTF_8));
      bytes(out, e.payload());
    }
    compact(out, runtimeEvents.size());
    for (RuntimeEvent r : runtimeEvents) {
      bytes(out, r.name().getBytes(StandardCharsets.UTF_8));
      bytes(out, r.payload().toByteArray());
    }
    out.writeBytes(reportData.toByteArray());
    bytes(out, config.getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  private static void u32(ByteArrayOutputStream out, long v) {
    out.write((int) v);
    out.write((int) (v >>> 8));
    out.write((int) (v >>> 16));
    out.write((int) (v >>> 24));
  }

  private static void bytes(ByteArrayOutputStream out, byte[] b) {
    compact(out, b.length);
    out.writeBytes(b);
  }

  /** SCALE compact integer (lengths here are below 2^30, so never the big-integer mode). */
  static void compact(ByteArrayOutputStream out, int n) {
    if (n < 0 || n >= 1 << 30) {
      throw new IllegalArgumentException("length out of range: " + n);
    }
    if (n < 1 << 6) {
      out.write(n << 2);
    } else if (n < 1 << 14) {
      int v = (n << 2) | 1;
      out.write(v);
      out.write(v >>> 8);
    } else {
      u32(out, ((long) n << 2) | 2);
    }
  }

  // ---- decoding
  // -------------------------------------------------------------------------------------------------

  /** Decodes an attestation blob; every failure is one line naming the field. */
  public static DstackAttestation decode(byte[] encoded) throws EventLogException {
    if (encoded.length == 0) {
      throw new EventLogException("attestation is empty");
    }
    if (encoded.length > MAX_BYTES) {
      throw new EventLogException(
          "attestation is " + encoded.length + " bytes, limit " + MAX_BYTES);
    }
    Reader r = new Reader(encoded);
    int version = r.u8("version");
    if (version != VERSION_V0) {
      throw new EventLogException(
          version >= 0x80 && version <= 0x8f
              ? "attestation is dstack's msgpack V1 form, not supported (V0, SCALE, is what /Attest returns for TDX)"
              : "attestation version " + version + " is unknown (expected 0, V0)");
    }
    int kind = r.u8("quote kind");
    if (kind != QUOTE_DSTACK_TDX) {
      throw new EventLogException("attestation quote kind " + kind + " is not DstackTdx (0)");
    }
    byte[] quote = r.bytes("quote", MAX_QUOTE_BYTES);
    int events = r.count("event_log", DstackEventLogCodec.MAX_EVENTS);
    List<EventLogEntry> log = new ArrayList<>(events);
    for (int i = 0; i < events; i++) {
      String at = "event_log[" + i + "]";
      int imr = (int) r.u32(at + ".imr");
      long type = r.u32(at + ".event_type");
      byte[] digest = r.bytes(at + ".digest", RuntimeEventDigest.DIGEST_LENGTH);
      String name = r.string(at + ".event", DstackEventLogCodec.MAX_NAME_CHARS * 4);
      byte[] payload = r.bytes(at + ".event_payload", DstackEventLogCodec.MAX_PAYLOAD_BYTES);
      try {
        log.add(new EventLogEntry(imr, type, digest.length == 0 ? null : digest, name, payload));
      } catch (IllegalArgumentException e) {
        throw new EventLogException(at + ": " + e.getMessage());
      }
    }
    int runtimeCount = r.count("runtime_events", DstackEventLogCodec.MAX_EVENTS);
    List<RuntimeEvent> runtime = new ArrayList<>(runtimeCount);
    for (int i = 0; i < runtimeCount; i++) {
      String at = "runtime_events[" + i + "]";
      String name = r.string(at + ".event", DstackEventLogCodec.MAX_NAME_CHARS * 4);
      runtime.add(
          new RuntimeEvent(
              name, Bytes.copyOf(r.bytes(at + ".payload", DstackEventLogCodec.MAX_PAYLOAD_BYTES))));
    }
    byte[] reportData = r.fixed("report_data", 64);
    String config = r.string("config", MAX_CONFIG_BYTES);
    if (r.remaining() != 0) {
      throw new EventLogException("attestation has " + r.remaining() + " trailing bytes");
    }
    return new DstackAttestation(
        Bytes.copyOf(quote), log, runtime, Bytes.copyOf(reportData), config);
  }

  private static final class Reader {
    private final ByteBuffer buf;

    Reader(byte[] b) {
      buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    int remaining() {
      return buf.remaining();
    }

    private void need(int n, String field) throws EventLogException {
      if (buf.remaining() < n) {
        throw new EventLogException("attestation truncated in " + field);
      }
    }

    int u8(String field) throws EventLogException {
      need(1, field);
      return buf.get() & 0xff;
    }

    long u32(String field) throws EventLogException {
      need(4, field);
      return buf.getInt() & 0xFFFF_FFFFL;
    }

    /** A canonical SCALE compact integer below 2^30. */
    int compact(String field) throws EventLogException {
      int first = u8(field);
      switch (first & 3) {
        case 0:
          return first >>> 2;
        case 1:
          {
            int v = (first | (u8(field) << 8)) >>> 2;
            if (v < 1 << 6) {
              throw new EventLogException(field + ": non-canonical length encoding");
            }
            return v;
          }
        case 2:
          {
            need(3, field);
            long v =
                ((first & 0xffL)
                        | ((buf.get() & 0xffL) << 8)
                        | ((buf.get() & 0xffL) << 16)
                        | ((buf.get() & 0xffL) << 24))
                    >>> 2;
            if (v < 1 << 14) {
              throw new EventLogException(field + ": non-canonical length encoding");
            }
            return (int) v;
          }
        default:
          throw new EventLogException(field + ": length of 2^30 or more");
      }
    }

    int count(String field, int max) throws EventLogException {
      int n = compact(field);
      if (n > max) {
        throw new EventLogException(field + " has " + n + " entries, limit " + max);
      }
      return n;
    }

    byte[] bytes(String field, int max) throws EventLogException {
      int n = compact(field);
      if (n > max) {
        throw new EventLogException(field + " is " + n + " bytes, limit " + max);
      }
      return fixed(field, n);
    }

    byte[] fixed(String field, int n) throws EventLogException {
      need(n, field);
      byte[] b = new byte[n];
      buf.get(b);
      return b;
    }

    String string(String field, int maxBytes) throws EventLogException {
      byte[] b = bytes(field, maxBytes);
      try {
        return StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(ByteBuffer.wrap(b))
            .toString();
      } catch (CharacterCodingException e) {
        throw new EventLogException(field + " is not UTF-8");
      }
    }
  }
}
