package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.teekms.proto.OperatorRequest;
import org.teekms.proto.OperatorRequestMessage;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.ECKeyPair;
import org.web3j.crypto.Keys;
import org.web3j.crypto.Sign;

/**
 * The operator request signature (our secp256k1 signer) is byte-identical to web3j's EIP-191
 * personal_sign.
 */
class RotateCommandSignatureTest {

  @Test
  void operatorSignatureEqualsWeb3jPersonalSignAndRecoversToTheKeyFile() throws Exception {
    Random random = new Random(20261202);
    for (int i = 0; i < 20; i++) {
      byte[] nonce = new byte[32];
      random.nextBytes(nonce);
      OperatorRequest unsigned =
          OperatorRequest.newBuilder()
              .setAction("ROTATE_ROOT")
              .setKmsId("kms-" + i)
              .setChainId(31337)
              .setRegistry("0x5fbdb2315678afecb367f032d93f642f64180aa3")
              .setTimestampMillis(1_764_000_000_000L + i)
              .setNonce(ByteString.copyFrom(nonce))
              .build();
      Credentials owner =
          Credentials.create(ECKeyPair.create(new BigInteger(250, random).add(BigInteger.ONE)));
      byte[] ours = RotateCommand.sign(unsigned, owner).getSignature().toByteArray();

      Sign.SignatureData theirs =
          Sign.signPrefixedMessage(OperatorRequestMessage.bytes(unsigned), owner.getEcKeyPair());
      byte[] expected = new byte[65];
      System.arraycopy(theirs.getR(), 0, expected, 0, 32);
      System.arraycopy(theirs.getS(), 0, expected, 32, 32);
      expected[64] = theirs.getV()[0];
      assertArrayEquals(expected, ours);
      BigInteger recovered =
          Sign.signedPrefixedMessageToKey(
              OperatorRequestMessage.bytes(unsigned),
              new Sign.SignatureData(
                  ours[64], Arrays.copyOfRange(ours, 0, 32), Arrays.copyOfRange(ours, 32, 64)));
      assertEquals(owner.getAddress(), "0x" + Keys.getAddress(recovered));
    }
  }
}
