package org.teekms.governance.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.teekms.governance.GovernanceException;
import org.web3j.crypto.Credentials;
import picocli.CommandLine.Option;

/**
 * The signing key: a file or an environment variable holding the hex private key. There is
 * deliberately no option that takes the key itself (it would land in shell history and process
 * listings).
 */
public final class KeyOptions {
  @Option(
      names = "--key-file",
      paramLabel = "FILE",
      description = "File with the hex private key of the sending account.")
  Path keyFile;

  @Option(
      names = "--key-env",
      paramLabel = "NAME",
      defaultValue = "TEEKMS_OPERATOR_KEY",
      description =
          "Environment variable with the hex private key, used without --key-file "
              + "(default ${DEFAULT-VALUE}).")
  String keyEnv;

  @Option(
      names = "--print-calldata",
      description =
          "Send nothing: print the transaction (target, value, data) this command would send, encoded by the "
              + "contract's ABI, for a multisig or another signer to propose. Needs no key; reads still use --rpc-url.")
  boolean printCalldata;

  /** Whether {@code --print-calldata} was given. */
  public boolean printCalldata() {
    return printCalldata;
  }

  /** The sending key; null with {@code --print-calldata} (nothing is signed). */
  public Credentials load() throws GovernanceException {
    if (printCalldata) {
      return null;
    }
    String hex;
    String source;
    if (keyFile != null) {
      source = "key file " + keyFile;
      try {
        hex = Files.readString(keyFile, StandardCharsets.US_ASCII);
      } catch (IOException e) {
        throw new GovernanceException(
            GovernanceException.Kind.INVALID_INPUT, "cannot read " + source + ": " + e);
      }
    } else {
      source = "environment variable " + keyEnv;
      hex = System.getenv(keyEnv);
      if (hex == null || hex.isBlank()) {
        throw new GovernanceException(
            GovernanceException.Kind.INVALID_INPUT,
            "no signing key: set " + keyEnv + " or pass --key-file FILE");
      }
    }
    return parse(hex, source);
  }

  public static Credentials parse(String text, String source) throws GovernanceException {
    String hex = text.trim();
    if (hex.startsWith("0x") || hex.startsWith("0X")) hex = hex.substring(2);
    if (!hex.matches("[0-9a-fA-F]{64}")) {
      // Never echo the content: it may be a mistyped key.
      throw new GovernanceException(
          GovernanceException.Kind.INVALID_INPUT,
          source + " does not hold a 32-byte hex private key");
    }
    return Credentials.create(hex);
  }
}
