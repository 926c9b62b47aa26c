package org.teekms.kms.operator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import org.teekms.proto.OperatorRequest;
import org.teekms.proto.OperatorRequestMessage;

/**
 * Coverage-guided fuzz target (Jazzer) for operator requests as they arrive: protobuf bytes,
 * decoded and authorized against a registry owner that is an EOA. The first input byte chooses the
 * form: odd, the rest is a patch list of 3-byte records {@code (offset high, offset low, xor)}
 * applied to a real request the owner signed at startup (the corpus, {@code
 * src/test/resources/org/teekms/kms/operator/OperatorRequestFuzzTestInputs/operatorRequest/}, holds
 * it unpatched and with one byte patched); even, the rest is arbitrary wire bytes. Only {@link
 * OperatorDenied} (or the protobuf decoder's typed exception) may escape, and a request is
 * authorized only if the bytes the owner signed are exactly the original's.
 */
class OperatorRequestFuzzTest {
  private static final OperatorRequest SIGNED =
      OperatorAuthorizerTest.sign(OperatorAuthorizerTest.unsigned(1_795_000_000_000L), owner());
  private static final byte[] SIGNED_MESSAGE = OperatorRequestMessage.bytes(SIGNED);
  private static final OperatorAuthorizer AUTHORIZER =
      OperatorAuthorizerTest.authorizer(OperatorAuthorizerTest.ownedBy(owner()));

  private static org.web3j.crypto.Credentials owner() {
    return org.web3j.crypto.Credentials.create(
        "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318");
  }

  @FuzzTest
  void operatorRequest(byte[] data) {
    if (data.length == 0) {
      return;
    }
    byte[] wire =
        (data[0] & 1) == 0
            ? java.util.Arrays.copyOfRange(data, 1, data.length)
            : patch(SIGNED.toByteArray(), data);
    OperatorRequest r;
    try {
      r = OperatorRequest.parseFrom(wire);
    } catch (InvalidProtocolBufferException notProtobuf) {
      return; // gRPC answers INVALID_ARGUMENT before the service sees it
    }
    try {
      OperatorAuthorizer.Authorized ok = AUTHORIZER.authorize(r);
      assertNotNull(ok);
      assertArrayEquals(
          SIGNED_MESSAGE,
          OperatorRequestMessage.bytes(r),
          "a request the owner did not sign was authorized");
    } catch (OperatorDenied expected) {
      // typed
    }
  }

  static byte[] patch(byte[] original, byte[] data) {
    byte[] out = original.clone();
    for (int i = 1; i + 2 < data.length; i += 3) {
      int offset = (((data[i] & 0xff) << 8) | (data[i + 1] & 0xff)) % out.length;
      out[offset] ^= data[i + 2];
    }
    return out;
  }
}
