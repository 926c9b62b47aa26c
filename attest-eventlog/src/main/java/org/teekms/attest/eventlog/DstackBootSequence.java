package org.teekms.attest.eventlog;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.teekms.crypto.Bytes;

/**
 * The boot-sequence rules for RTMR3 runtime events, and the {@link BootIdentity} they yield.
 * Mirrors the order in which dstack's guest ({@code dstack-util system_setup.rs}) measures a
 * booting app:
 *
 * <ol>
 *   <li><b>identity</b>: {@code system-preparing} (optional, first), then {@code app-id}, {@code
 *       compose-hash}, {@code instance-id}, each exactly once, closed by {@code boot-mr-done}
 *       (required). Nothing else.
 *   <li><b>setup</b>: after {@code boot-mr-done}, at most once each of {@code mr-kms}, {@code
 *       os-image-hash}, {@code key-provider}, {@code storage-fs}, {@code gpu-devices} (48 bytes:
 *       the GPUs present at boot, docs/gpu-attestation.md); any number of {@code gpu-evidence};
 *       closed by {@code system-ready} (absent while the CVM is still booting, e.g. when it asks
 *       the KMS for its keys).
 *   <li><b>runtime</b>: after {@code system-ready}, application events with any name that is not
 *       reserved, {@code gpu-evidence}, and at most one {@code teekms-trust-config} (32-byte
 *       payload: the KMS's measured trust configuration, docs/trust-config.md).
 * </ol>
 *
 * Unknown events before {@code system-ready}, duplicated identity events, and reserved names out of
 * place all fail.
 */
public final class DstackBootSequence {
  public static final String SYSTEM_PREPARING = "system-preparing";
  public static final String APP_ID = "app-id";
  public static final String COMPOSE_HASH = "compose-hash";
  public static final String INSTANCE_ID = "instance-id";
  public static final String BOOT_MR_DONE = "boot-mr-done";
  public static final String MR_KMS = "mr-kms";
  public static final String OS_IMAGE_HASH = "os-image-hash";
  public static final String KEY_PROVIDER = "key-provider";
  public static final String STORAGE_FS = "storage-fs";
  public static final String SYSTEM_READY = "system-ready";

  /**
   * tee-kms event: SHA-384 of the encoded GPU evidence carried in an RA-TLS certificate (same name
   * as {@code org.teekms.attest.gpu.GpuEvidence.RTMR3_EVENT_NAME}).
   */
  public static final String GPU_EVIDENCE = "gpu-evidence";

  /**
   * tee-kms event: SHA-384 of the sorted SHA-256 fingerprints of the GPUs' device-identity
   * certificates, measured once at boot before the CVM asks for keys (same name as {@code
   * org.teekms.attest.gpu.GpuDevices.RTMR3_EVENT_NAME}).
   */
  public static final String GPU_DEVICES = "gpu-devices";

  /**
   * tee-kms event: SHA-256 of a KMS node's canonical trust configuration (docs/trust-config.md),
   * extended at KMS startup; folded into the node's mrAggregated ({@link
   * EventLogVerifier#aggregate}). At most once, after system-ready.
   */
  public static final String TRUST_CONFIG = "teekms-trust-config";

  static final Set<String> IDENTITY = Set.of(APP_ID, COMPOSE_HASH, INSTANCE_ID);
  static final Set<String> SETUP =
      Set.of(MR_KMS, OS_IMAGE_HASH, KEY_PROVIDER, STORAGE_FS, GPU_DEVICES);

  /** Names an application may never emit: every event above, and dstack's legacy identity name. */
  public static final Set<String> RESERVED =
      Set.of(
          SYSTEM_PREPARING,
          APP_ID,
          COMPOSE_HASH,
          INSTANCE_ID,
          BOOT_MR_DONE,
          MR_KMS,
          OS_IMAGE_HASH,
          KEY_PROVIDER,
          STORAGE_FS,
          SYSTEM_READY,
          "upgraded-app-id",
          "rootfs-hash",
          TRUST_CONFIG,
          GPU_DEVICES);

  private static final int MAX_KEY_PROVIDER_BYTES = 4096;
  private static final int MAX_STORAGE_FS_BYTES = 64;

  private DstackBootSequence() {}

  private enum Phase {
    IDENTITY,
    SETUP,
    RUNTIME
  }

  /** Checks the order of the RTMR3 runtime events and extracts the identity. */
  public static BootIdentity extract(List<EventLogEntry> log) throws EventLogException {
    Phase phase = Phase.IDENTITY;
    Map<String, byte[]> seen = new HashMap<>();
    byte[] gpuEvidence = null;
    boolean trustConfigSeen = false;
    int position = 0;
    for (EventLogEntry e : log) {
      if (e.imr() != 3) {
        continue;
      }
      if (!e.isRuntimeEvent()) {
        throw new EventLogException(
            "RTMR3 event '"
                + e.name()
                + "' has type 0x"
                + Long.toHexString(e.eventType())
                + ", only dstack runtime events (0x08000001) are allowed");
      }
      String name = e.name();
      byte[] payload = e.payload();
      String at = "RTMR3 event " + position + " ('" + name + "')";
      position++;
      if (name.equals(GPU_EVIDENCE)) {
        if (phase == Phase.IDENTITY) {
          throw new EventLogException(at + ": GPU evidence before boot-mr-done");
        }
        gpuEvidence = length(at, payload, 48);
        continue;
      }
      switch (phase) {
        case IDENTITY -> {
          if (name.equals(SYSTEM_PREPARING)) {
            if (position != 1) {
              throw new EventLogException(
                  at + ": system-preparing must be the first runtime event");
            }
            empty(at, payload);
          } else if (IDENTITY.contains(name)) {
            once(at, seen, name, payload);
          } else if (name.equals(BOOT_MR_DONE)) {
            empty(at, payload);
            for (String required : List.of(APP_ID, COMPOSE_HASH, INSTANCE_ID)) {
              if (!seen.containsKey(required)) {
                throw new EventLogException(at + ": boot-mr-done without " + required);
              }
            }
            phase = Phase.SETUP;
          } else if (RESERVED.contains(name)) {
            throw new EventLogException(at + ": " + name + " before boot-mr-done");
          } else {
            throw new EventLogException(at + ": unknown event before boot-mr-done");
          }
        }
        case SETUP -> {
          if (SETUP.contains(name)) {
            once(at, seen, name, payload);
          } else if (name.equals(SYSTEM_READY)) {
            empty(at, payload);
            phase = Phase.RUNTIME;
          } else if (RESERVED.contains(name)) {
            throw new EventLogException(at + ": identity event after boot-mr-done");
          } else {
            throw new EventLogException(
                at + ": unknown event between boot-mr-done and system-ready");
          }
        }
        case RUNTIME -> {
          if (name.equals(TRUST_CONFIG)) {
            length(at, payload, 32);
            if (trustConfigSeen) {
              throw new EventLogException(
                  at + ": a second trust configuration (the first one stands until reboot)");
            }
            trustConfigSeen = true;
          } else if (RESERVED.contains(name)) {
            throw new EventLogException(at + ": reserved event after system-ready");
          }
        }
      }
    }
    if (phase == Phase.IDENTITY) {
      throw new EventLogException("RTMR3 log has no boot-mr-done marker");
    }
    byte[] instanceId = seen.get(INSTANCE_ID);
    if (instanceId.length != 0 && instanceId.length != 20) {
      throw new EventLogException(
          "instance-id is " + instanceId.length + " bytes, expected 20 (or empty)");
    }
    return new BootIdentity(
        Bytes.copyOf(length(APP_ID, seen.get(APP_ID), 20)),
        Bytes.copyOf(length(COMPOSE_HASH, seen.get(COMPOSE_HASH), 32)),
        Bytes.copyOf(instanceId),
        optionalBytes(seen, OS_IMAGE_HASH, 32),
        optionalText(seen, KEY_PROVIDER, MAX_KEY_PROVIDER_BYTES),
        optionalBytes(seen, MR_KMS, 32),
        optionalText(seen, STORAGE_FS, MAX_STORAGE_FS_BYTES),
        Optional.ofNullable(gpuEvidence).map(Bytes::copyOf),
        phase == Phase.RUNTIME,
        optionalBytes(seen, GPU_DEVICES, 48));
  }

  private static void once(String at, Map<String, byte[]> seen, String name, byte[] payload)
      throws EventLogException {
    if (seen.putIfAbsent(name, payload) != null) {
      throw new EventLogException(at + ": duplicate identity event");
    }
  }

  private static void empty(String at, byte[] payload) throws EventLogException {
    if (payload.length != 0) {
      throw new EventLogException(at + ": marker event must have an empty payload");
    }
  }

  private static byte[] length(String at, byte[] payload, int expected) throws EventLogException {
    if (payload.length != expected) {
      throw new EventLogException(
          at + ": payload is " + payload.length + " bytes, expected " + expected);
    }
    return payload;
  }

  private static Optional<Bytes> optionalBytes(Map<String, byte[]> seen, String name, int len)
      throws EventLogException {
    byte[] v = seen.get(name);
    return v == null ? Optional.empty() : Optional.of(Bytes.copyOf(length(name, v, len)));
  }

  private static Optional<String> optionalText(Map<String, byte[]> seen, String name, int maxBytes)
      throws EventLogException {
    byte[] v = seen.get(name);
    if (v == null) {
      return Optional.empty();
    }
    if (v.length > maxBytes) {
      throw new EventLogException(name + ": payload longer than " + maxBytes + " bytes");
    }
    try {
      return Optional.of(
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(v))
              .toString());
    } catch (CharacterCodingException e) {
      throw new EventLogException(name + ": payload is not UTF-8 text");
    }
  }
}
