package org.teekms.cli;

import picocli.CommandLine.Command;

/**
 * {@code teekms verify …}: offline verification of attestation evidence. Prints one JSON object.
 */
@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    description = "Verify attestation evidence offline and print one JSON object.",
    subcommands = {
      VerifyQuoteCommand.class,
      VerifyRatlsCommand.class,
      VerifyGpuCommand.class,
      VerifyResponseCommand.class,
      VerifyOsImageCommand.class
    })
public final class VerifyCommand extends CommandGroup {}
