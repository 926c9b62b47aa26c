package org.teekms.governance;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.web3j.crypto.Credentials;

/** A 2-of-3 multisig wallet owns the registry: ownership is accepted and policy changed only with two approvals. */
class MultisigOwnerTest extends AnvilTestBase {
  private static final ContractAbi WALLET = ContractAbi.load("TestMultisig");

  private static String deployWallet(List<Credentials> signers) throws GovernanceException {
    String data = GovernanceContract.creationCode("TestMultisig")
        + WALLET.encodeConstructor(signers.stream().map(Credentials::getAddress).toList(), 2);
    return chain.send(operator, null, data).contractAddress().orElseThrow();
  }

  private static TxResult submit(Credentials signer, String wallet, String target, String data, int nonce)
      throws GovernanceException {
    return chain.send(signer, wallet, WALLET.encodeCall("submit", target,
        org.web3j.utils.Numeric.hexStringToByteArray(data), nonce));
  }

  @Test
  void multisigOwnsAndGovernsTheRegistry() throws Exception {
    Credentials a = anvil.fundedAccount();
    Credentials b = anvil.fundedAccount();
    Credentials c = anvil.fundedAccount();
    String wallet = deployWallet(List.of(a, b, c));

    registry.transferOwnership(wallet);
    String accept = KmsRegistry.ABI.encodeCall("acceptOwnership");
    submit(a, wallet, registry.address(), accept, 1);
    assertEquals(addr(operator), registry.owner(), "one approval is not enough");
    TxResult accepted = submit(b, wallet, registry.address(), accept, 1);
    assertSingleEvent(accepted, registry, "OwnershipTransferred",
        Map.of("by", wallet, "previousOwner", addr(operator), "newOwner", wallet));
    assertEquals(wallet, registry.owner());

    // The old owner and single signers can no longer change the policy.
    assertReverts("caller is not the owner", () -> registry.addOsImage(b32(1)));
    String add = KmsRegistry.ABI.encodeCall("addOsImage", (Object) b32(1));
    submit(c, wallet, registry.address(), add, 2);
    assertFalse(registry.isOsImageAllowed(b32(1)));
    TxResult added = submit(a, wallet, registry.address(), add, 2);
    assertSingleEvent(added, registry, "OsImageAdded", Map.of("by", wallet, "osImageHash", b32(1)));
    assertTrue(registry.isOsImageAllowed(b32(1)));

    // The registry's revert reason reaches the signer through the wallet.
    submit(a, wallet, registry.address(), add, 3);
    assertReverts("OS image already allowed", () -> submit(b, wallet, registry.address(), add, 3));
    assertReverts("not a signer", () -> submit(stranger, wallet, registry.address(), add, 4));
  }
}
