package org.teekms.governance;

import java.math.BigInteger;
import org.web3j.abi.FunctionReturnDecoder;
import org.web3j.abi.TypeReference;
import org.web3j.abi.datatypes.Type;
import org.web3j.abi.datatypes.Utf8String;
import org.web3j.abi.datatypes.generated.Uint256;
import org.web3j.utils.Numeric;

/** Turns EVM revert data into the reason a person can read. */
final class RevertReason {
  private static final String ERROR_SELECTOR = "08c379a0"; // Error(string)
  private static final String PANIC_SELECTOR = "4e487b71"; // Panic(uint256)

  private RevertReason() {}

  // Nodes that omit the revert data put the reason in the message: "execution reverted: <reason>".
  private static String stripNodePrefix(String message) {
    String prefix = "execution reverted: ";
    return message != null && message.startsWith(prefix) && message.length() > prefix.length()
        ? message.substring(prefix.length())
        : message;
  }

  /** The decoded reason, or {@code fallback} when the data is absent or not a standard revert. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  static String decode(String revertData, String fallback) {
    fallback = stripNodePrefix(fallback);
    if (revertData == null) return fallback;
    String hex = Numeric.cleanHexPrefix(revertData.trim().replace("\"", ""));
    try {
      if (hex.startsWith(ERROR_SELECTOR)) {
        var values =
            FunctionReturnDecoder.decode(
                hex.substring(8),
                (java.util.List) java.util.List.of(TypeReference.create(Utf8String.class)));
        if (values.size() == 1) return ((Type<String>) values.get(0)).getValue();
      } else if (hex.startsWith(PANIC_SELECTOR) && hex.length() >= 8 + 64) {
        BigInteger code = new Uint256(Numeric.toBigInt(hex.substring(8, 72))).getValue();
        return "panic 0x" + code.toString(16) + " (assertion, overflow or bad array index)";
      }
    } catch (RuntimeException e) {
      return fallback;
    }
    return fallback;
  }
}
