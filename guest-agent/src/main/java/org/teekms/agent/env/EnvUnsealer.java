package org.teekms.agent.env;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.teekms.agent.env.EnvSecretException.Reason;
import org.teekms.attest.eventlog.DstackBootSequence;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.SecretBytes;

/**
 * Opens the encrypted environment the host handed to the CVM. The host writes that file, so nothing
 * in it is trusted except through the AEAD: only a holder of the app's env-encryption private key
 * (the KMS, and CVMs it admitted for the app) or someone who encrypted to its public key can
 * produce bytes that open. Checks, in order; the first failure is the reason, and no message holds
 * a value:
 *
 * <ol>
 *   <li>the app-compose whose {@code allowed_envs} filters is the one measured: SHA-256 of its
 *       bytes equals the payload of the single {@code compose-hash} event in RTMR3's log ({@link
 *       Reason#ENV_COMPOSE_UNVERIFIED});
 *   <li>the blob's length ({@link EnvBlob#checkShape}, {@link Reason#ENV_BLOB_MALFORMED});
 *   <li>the env-encryption key of the current version opens it, else each older served version,
 *       newest first (a blob made before a rotation still opens while its version is served); none
 *       → {@link Reason#ENV_DECRYPTION_FAILED};
 *   <li>the plaintext is dstack's JSON ({@link EnvJson#decode}, {@link
 *       Reason#ENV_PLAINTEXT_INVALID});
 *   <li>every variable is named in {@code allowed_envs}; otherwise {@link Reason#ENV_NOT_ALLOWED}
 *       names the others (dstack skips them with a warning; we refuse the boot, since the owner
 *       either misconfigured or did not make the blob).
 * </ol>
 */
public final class EnvUnsealer {

  private EnvUnsealer() {}

  /**
   * @param keys env-encryption private keys by key version (the served versions the KMS released)
   * @param currentVersion tried first
   */
  public static DecryptedEnv unseal(
      byte[] blob,
      NavigableMap<Integer, SecretBytes> keys,
      int currentVersion,
      byte[] composeBytes,
      List<String> allowedEnvs,
      List<EventLogEntry> eventLog)
      throws EnvSecretException {
    checkMeasuredCompose(composeBytes, eventLog);
    EnvBlob.checkShape(blob);
    List<Integer> order = new ArrayList<>();
    if (keys.containsKey(currentVersion)) {
      order.add(currentVersion);
    }
    for (int v : keys.descendingKeySet()) {
      if (v != currentVersion) {
        order.add(v);
      }
    }
    InsecureSecretAccess access = InsecureSecretAccess.get();
    for (int v : order) {
      byte[] key = keys.get(v).toByteArray(access);
      Optional<byte[]> plaintext;
      try {
        plaintext = EnvBlob.open(blob, key);
      } finally {
        Arrays.fill(key, (byte) 0);
      }
      if (plaintext.isPresent()) {
        byte[] p = plaintext.get();
        try {
          List<EnvVar> vars = EnvJson.decode(p);
          Set<String> refused = new TreeSet<>();
          Set<String> allowed = Set.copyOf(allowedEnvs);
          for (EnvVar var : vars) {
            if (!allowed.contains(var.name())) {
              refused.add(var.name());
            }
          }
          if (!refused.isEmpty()) {
            throw new EnvSecretException(
                Reason.ENV_NOT_ALLOWED,
                "variables not in the app-compose's allowed_envs " + allowedEnvs + ": " + refused);
          }
          return new DecryptedEnv(v, vars);
        } finally {
          Arrays.fill(p, (byte) 0);
        }
      }
    }
    throw new EnvSecretException(
        Reason.ENV_DECRYPTION_FAILED,
        "no served key version "
            + keys.keySet()
            + " opens the encrypted environment ("
            + blob.length
            + " bytes): it was made for another app's key or a "
            + "version no longer served, or it was altered");
  }

  /** Step 1: the compose used is the measured one. */
  static void checkMeasuredCompose(byte[] composeBytes, List<EventLogEntry> eventLog)
      throws EnvSecretException {
    List<byte[]> measured =
        eventLog.stream()
            .filter(e -> e.isRuntimeEvent() && DstackBootSequence.COMPOSE_HASH.equals(e.name()))
            .map(EventLogEntry::payload)
            .toList();
    if (measured.size() != 1) {
      throw new EnvSecretException(
          Reason.ENV_COMPOSE_UNVERIFIED,
          "expected one compose-hash event in the runtime "
              + "event log, found "
              + measured.size());
    }
    if (!MessageDigest.isEqual(sha256(composeBytes), measured.get(0))) {
      throw new EnvSecretException(
          Reason.ENV_COMPOSE_UNVERIFIED,
          "the app-compose whose allowed_envs would filter "
              + "the environment is not the one measured into RTMR3 (compose-hash event "
              + java.util.HexFormat.of().formatHex(measured.get(0))
              + ")");
    }
  }

  static byte[] sha256(byte[] b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The env-encryption keys of every released version (shared references: the caller's AgentKeys
   * owns them).
   */
  public static NavigableMap<Integer, SecretBytes> envKeys(
      Map<Integer, org.teekms.agent.keys.AgentKeys.VersionKeys> versions) {
    java.util.TreeMap<Integer, SecretBytes> out = new java.util.TreeMap<>();
    versions.forEach((v, k) -> out.put(v, k.envEncryptionKey()));
    return out;
  }
}
