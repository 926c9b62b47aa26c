package org.teekms.governance.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code teekms gov …}: operator commands for the governance contracts. Writes print the
 * transaction hash and block; reads print the policy; both as one JSON object. Exit codes: 0 done,
 * 1 failed (revert, wrong chain, no funds, RPC down), 2 usage error. Keys come from a file or an
 * environment variable, never from the command line.
 */
@Command(
    name = "gov",
    mixinStandardHelpOptions = true,
    description =
        "Operate the on-chain governance: KMS registry, app policies, key rotation, history.",
    subcommands = {
      RegistryCommands.DeployRegistry.class,
      RegistryCommands.RegisterApp.class,
      RegistryCommands.DeregisterApp.class,
      RegistryCommands.AddOsImage.class,
      RegistryCommands.RemoveOsImage.class,
      RegistryCommands.AddOsImageMeasurement.class,
      RegistryCommands.RemoveOsImageMeasurement.class,
      RegistryCommands.AddKmsMeasurement.class,
      RegistryCommands.RemoveKmsMeasurement.class,
      RegistryCommands.AddKmsDevice.class,
      RegistryCommands.RemoveKmsDevice.class,
      RegistryCommands.SetTcbPolicy.class,
      RegistryCommands.SetGpuPolicy.class,
      RegistryCommands.SetOpenRegistration.class,
      RegistryCommands.SetKmsIdentity.class,
      RegistryCommands.SetAuditAnchorer.class,
      RegistryCommands.DestroyRootGeneration.class,
      AppCommands.AddComposeHash.class,
      AppCommands.RemoveComposeHash.class,
      AppCommands.AddDevice.class,
      AppCommands.RemoveDevice.class,
      AppCommands.SetAllowAnyDevice.class,
      AppCommands.SetRequireTcbUpToDate.class,
      AppCommands.ClearGpuPolicy.class,
      AppCommands.RotateKeys.class,
      AppCommands.SetMinKeyVersion.class,
      AppCommands.SetRotationPeriod.class,
      AppCommands.SetAppDisabled.class,
      OwnershipCommands.TransferOwnership.class,
      OwnershipCommands.AcceptOwnership.class,
      ShowCommands.ShowRegistry.class,
      ShowCommands.ShowApp.class,
      ShowCommands.History.class,
      ShowCommands.CheckApp.class,
      CustodyCommands.DeployCustody.class,
      CustodyCommands.RegisterCustodian.class,
      CustodyCommands.PublishBackup.class,
      CustodyCommands.AuthorizeRecovery.class,
      CustodyCommands.RevokeRecovery.class,
      CustodyCommands.ShowCustody.class,
    })
public final class GovCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "Missing subcommand: one of " + spec.subcommands().keySet());
  }
}
