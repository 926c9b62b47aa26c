package org.teekms.governance;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.teekms.governance.contracts.KmsRegistryContract;
import org.teekms.governance.testing.TestMultisigs;
import org.web3j.crypto.Credentials;

/**
 * A 2-of-3 multisig wallet owns the registry: ownership is accepted and policy changed only with
 * two approvals.
 */
class MultisigOwnerTest extends AnvilTestBase {
  private static String deployWallet(List<Credentials> signers) throws GovernanceException {
    return TestMultisigs.deploy(chain, operator, signers, 2);
  }

  private static TxResult submit(
      Credentials signer, String wallet, String target, String data, int nonce)
      throws GovernanceException {
    return chain.send(signer, wallet, TestMultisigs.submit(target, data, nonce));
  }

  @Test
  void multisigOwnsAndGovernsTheRegistry() throws Exception {
    Credentials a = anvil.fundedAccount();
    Credentials b = anvil.fundedAccount();
    Credentials c = anvil.fundedAccount();
    String wallet = deployWallet(List.of(a, b, c));

    registry.transferOwnership(wallet);
    String accept = KmsRegistryContract.getABI_acceptOwnership();
    submit(a, wallet, registry.address(), accept, 1);
    assertEquals(addr(operator), registry.owner(), "one approval is not enough");
    TxResult accepted = submit(b, wallet, registry.address(), accept, 1);
    assertSingleEvent(
        accepted,
        registry,
        "OwnershipTransferred",
        Map.of("previousOwner", addr(operator), "newOwner", wallet));
    assertEquals(wallet, registry.owner());

    // The old owner and single signers can no longer change the policy.
    assertReverts("caller is not the owner", () -> registry.addOsImage(b32(1)));
    String add = KmsRegistryContract.getABI_addOsImage(b32(1));
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
