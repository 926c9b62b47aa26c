package org.teekms.governance.cli;

import picocli.CommandLine.Mixin;

/** A command that signs a transaction. */
abstract class TxCommand extends ChainCommand {
  @Mixin KeyOptions keyOptions;
}
