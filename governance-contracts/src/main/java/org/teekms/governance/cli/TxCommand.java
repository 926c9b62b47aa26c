package org.teekms.governance.cli;

import org.teekms.governance.GovernanceException;
import picocli.CommandLine.Mixin;

/** A command that signs a transaction. */
abstract class TxCommand extends ChainCommand {
  @Mixin KeyOptions keyOptions;

  @Override
  boolean printCalldata() {
    return keyOptions.printCalldata();
  }

  /**
   * The key's address, or the explicit address a command needs instead when no key is loaded
   * (--print-calldata).
   */
  String senderOr(String explicit, String option) throws GovernanceException {
    if (explicit != null) {
      return explicit;
    }
    org.web3j.crypto.Credentials key = keyOptions.load();
    if (key == null) {
      throw new GovernanceException(
          GovernanceException.Kind.INVALID_INPUT,
          "--print-calldata loads no key: give " + option + " explicitly");
    }
    return key.getAddress();
  }
}
