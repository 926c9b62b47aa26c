package org.teekms.proto;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;
import org.bouncycastle.crypto.digests.KeccakDigest;

/**
 * The exact text an operator signs (EIP-191 personal_sign) to authorize a {@link OperatorRequest}.
 * Domain-separated: a fixed header, the action, and the KMS, chain and registry it is meant for, so
 * a signature for one KMS, chain, registry or action is worthless for another; a timestamp and a
 * nonce bound its lifetime and make it single-use. Shared by the CLI (signs) and the KMS (verifies)
 * so the two can never disagree on the bytes.
 *
 * <p>{@link #digest} is the EIP-191 hash of that text: what an EOA owner's {@code personal_sign}
 * signs, and the {@code hash} a contract owner's EIP-1271 {@code isValidSignature(bytes32, bytes)}
 * is asked to approve.
 */
public final class OperatorRequestMessage {

  public static final String HEADER = "tee-kms operator request v1";
  public static final String ROTATE_ROOT = "ROTATE_ROOT";
  public static final String SYNC_APP = "SYNC_APP";
  public static final Set<String> ACTIONS = Set.of(ROTATE_ROOT, SYNC_APP);
  public static final int MIN_NONCE = 16;
  public static final int MAX_NONCE = 64;

  private OperatorRequestMessage() {}

  /**
   * The message text, UTF-8. Every field is validated first (the text is line-based, so no field
   * may contain a line break): a malformed request has no message and cannot be signed or verified.
   *
   * @throws IllegalArgumentException naming the offending field
   */
  public static byte[] bytes(OperatorRequest r) {
    if (!ACTIONS.contains(r.getAction())) {
      throw new IllegalArgumentException(
          "action must be one of " + ACTIONS + ", got '" + r.getAction() + "'");
    }
    if (!r.getKmsId().matches("[A-Za-z0-9._:-]{1,128}")) {
      throw new IllegalArgumentException("kms_id must be 1-128 characters of [A-Za-z0-9._:-]");
    }
    if (r.getChainId() <= 0) {
      throw new IllegalArgumentException("chain_id must be positive");
    }
    if (!r.getRegistry().matches("0x[0-9a-fA-F]{40}")) {
      throw new IllegalArgumentException("registry must be a 0x-prefixed 20-byte address");
    }
    if (r.getTimestampMillis() <= 0) {
      throw new IllegalArgumentException("timestamp_millis must be positive");
    }
    int n = r.getNonce().size();
    if (n < MIN_NONCE || n > MAX_NONCE) {
      throw new IllegalArgumentException(
          "nonce must be " + MIN_NONCE + ".." + MAX_NONCE + " bytes, got " + n);
    }
    boolean app = SYNC_APP.equals(r.getAction());
    if (app ? r.getAppId().size() != 20 : !r.getAppId().isEmpty()) {
      throw new IllegalArgumentException(
          app ? "SYNC_APP needs a 20-byte app_id" : r.getAction() + " takes no app_id");
    }
    String text =
        HEADER
            + "\n"
            + "action: "
            + r.getAction()
            + "\n"
            + "kms-id: "
            + r.getKmsId()
            + "\n"
            + "chain-id: "
            + Long.toUnsignedString(r.getChainId())
            + "\n"
            + "registry: "
            + r.getRegistry().toLowerCase(Locale.ROOT)
            + "\n"
            + (app ? "app: 0x" + HexFormat.of().formatHex(r.getAppId().toByteArray()) + "\n" : "")
            + "timestamp: "
            + r.getTimestampMillis()
            + "\n"
            + "nonce: "
            + HexFormat.of().formatHex(r.getNonce().toByteArray());
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * {@code keccak256("\x19Ethereum Signed Message:\n" ‖ decimal(len(text)) ‖ text)} of {@link
   * #bytes}: the 32 bytes an EIP-1271 owner contract must validate (docs/governance.md, "Operator
   * requests from contract owners").
   *
   * @throws IllegalArgumentException as {@link #bytes}
   */
  public static byte[] digest(OperatorRequest r) {
    byte[] text = bytes(r);
    byte[] prefix =
        ("\u0019Ethereum Signed Message:\n" + text.length).getBytes(StandardCharsets.UTF_8);
    KeccakDigest k = new KeccakDigest(256);
    k.update(prefix, 0, prefix.length);
    k.update(text, 0, text.length);
    byte[] out = new byte[32];
    k.doFinal(out, 0);
    return out;
  }
}
