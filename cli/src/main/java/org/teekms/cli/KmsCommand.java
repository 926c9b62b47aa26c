package org.teekms.cli;

import picocli.CommandLine.Command;

/** {@code teekms kms …}: talk to a running KMS. */
@Command(
    name = "kms",
    mixinStandardHelpOptions = true,
    description = "Inspect a running tee-kms node.",
    subcommands = {KmsBootstrapCommand.class, KmsStatusCommand.class})
public final class KmsCommand extends CommandGroup {}
