package org.teekms.governance.cli;

import java.util.Map;
import org.teekms.governance.AppPolicy;
import org.teekms.governance.ChainClient;
import org.teekms.governance.GovernanceException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Two-step ownership of either contract (the ownership functions are the same on both). */
final class OwnershipCommands {
  private OwnershipCommands() {}

  @Command(
      name = "transfer-ownership",
      mixinStandardHelpOptions = true,
      description = "Propose a new owner of a registry or app contract; it must accept-ownership.")
  public static final class TransferOwnership extends TxCommand {
    @Option(
        names = "--contract",
        required = true,
        paramLabel = "ADDRESS",
        converter = HexConverters.AddressConverter.class)
    String contract;

    @Option(
        names = "--new-owner",
        required = true,
        paramLabel = "ADDRESS",
        converter = HexConverters.AddressConverter.class,
        description = "0x000…0 cancels a pending proposal.")
    String newOwner;

    @Override
    Map<String, Object> run(ChainClient chain) throws GovernanceException {
      // Both contracts share the ownership ABI; AppPolicy's binding serves for either.
      return tx(
          AppPolicy.at(chain, contract, keyOptions.load()).transferOwnership(newOwner),
          "contract",
          contract,
          "pendingOwner",
          newOwner);
    }
  }

  @Command(
      name = "accept-ownership",
      mixinStandardHelpOptions = true,
      description = "Accept ownership of a contract as its pending owner.")
  public static final class AcceptOwnership extends TxCommand {
    @Option(
        names = "--contract",
        required = true,
        paramLabel = "ADDRESS",
        converter = HexConverters.AddressConverter.class)
    String contract;

    @Override
    Map<String, Object> run(ChainClient chain) throws GovernanceException {
      var key = keyOptions.load();
      return tx(
          AppPolicy.at(chain, contract, key).acceptOwnership(),
          "contract",
          contract,
          "owner",
          key == null ? null : key.getAddress());
    }
  }
}
