package org.teekms.cli;

import picocli.CommandLine.Command;

/** {@code teekms collateral …}: obtain DCAP collateral. */
@Command(
    name = "collateral",
    mixinStandardHelpOptions = true,
    description = "Obtain Intel DCAP collateral.",
    subcommands = {CollateralFetchCommand.class})
public final class CollateralCommand extends CommandGroup {}
