package org.teekms.governance.testing;

import java.math.BigInteger;
import java.util.List;
import org.teekms.governance.ChainClient;
import org.teekms.governance.GovernanceException;
import org.teekms.governance.contracts.TestMultisigContract;
import org.web3j.abi.FunctionEncoder;
import org.web3j.abi.datatypes.Address;
import org.web3j.abi.datatypes.DynamicArray;
import org.web3j.abi.datatypes.generated.Uint256;
import org.web3j.crypto.Credentials;
import org.web3j.utils.Numeric;

/**
 * The test-only M-of-N wallet (src/test/solidity/TestMultisig.sol) through its generated wrapper's
 * encoders.
 */
public final class TestMultisigs {
  private TestMultisigs() {}

  /** Deploys a wallet of these signers needing {@code threshold} approvals; returns its address. */
  public static String deploy(
      ChainClient chain, Credentials deployer, List<Credentials> signers, int threshold)
      throws GovernanceException {
    String data =
        TestMultisigContract.BINARY
            + FunctionEncoder.encodeConstructor(
                List.of(
                    new DynamicArray<>(
                        Address.class,
                        signers.stream().map(c -> new Address(c.getAddress())).toList()),
                    new Uint256(threshold)));
    return chain.send(deployer, null, data).contractAddress().orElseThrow();
  }

  /**
   * Call data of {@code submit(target, data, nonce)}: one signer's approval of the call {@code
   * callData} to target.
   */
  public static String submit(String target, String callData, long nonce) {
    return TestMultisigContract.getABI_submit(
        target, Numeric.hexStringToByteArray(callData), BigInteger.valueOf(nonce));
  }
}
