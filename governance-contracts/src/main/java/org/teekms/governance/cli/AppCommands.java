package org.teekms.governance.cli;

import java.nio.file.Path;
import java.util.Map;
import org.teekms.governance.AppPolicy;
import org.teekms.governance.ChainClient;
import org.teekms.governance.ComposeHash;
import org.teekms.governance.GovernanceException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Commands of an app owner. */
final class AppCommands {
  private AppCommands() {}

  /** An app-owner transaction on {@code --app}. */
  abstract static class AppTx extends TxCommand {
    @Option(
        names = "--app",
        required = true,
        paramLabel = "APP_ID",
        converter = HexConverters.AddressConverter.class,
        description = "App id (the AppPolicy contract address).")
    String app;

    @Override
    final Map<String, Object> run(ChainClient chain) throws GovernanceException {
      return run(AppPolicy.at(chain, app, keyOptions.load()));
    }

    abstract Map<String, Object> run(AppPolicy app) throws GovernanceException;
  }

  /** A compose hash given directly or computed from app-compose.json. */
  static final class ComposeSource {
    @Option(
        names = "--compose",
        paramLabel = "FILE",
        description =
            "app-compose.json: the hash is SHA-256 of the file's bytes, as measured into the event log.")
    Path composeFile;

    @Option(
        names = "--hash",
        paramLabel = "HEX32",
        converter = HexConverters.Bytes32.class,
        description = "The compose hash itself.")
    String hash;

    byte[] resolve() throws GovernanceException {
      return hash != null
          ? HexConverters.b32(hash)
          : ComposeHash.of(RegistryCommands.read(composeFile));
    }
  }

  @Command(
      name = "add-compose-hash",
      mixinStandardHelpOptions = true,
      description = "Allow a compose hash.")
  public static final class AddComposeHash extends AppTx {
    @ArgGroup(exclusive = true, multiplicity = "1")
    ComposeSource compose;

    @Override
    Map<String, Object> run(AppPolicy app) throws GovernanceException {
      byte[] h = compose.resolve();
      return tx(app.addComposeHash(h), "appId", app.address(), "composeHash", h);
    }
  }

  @Command(
      name = "remove-compose-hash",
      mixinStandardHelpOptions = true,
      description = "Disallow a compose hash.")
  public static final class RemoveComposeHash extends AppTx {
    @ArgGroup(exclusive = true, multiplicity = "1")
    ComposeSource compose;

    @Override
    Map<String, Object> run(AppPolicy app) throws GovernanceException {
      byte[] h = compose.resolve();
      return tx(app.removeComposeHash(h), "appId", app.address(), "composeHash", h);
    }
  }

  @Command(
      name = "add-device",
      mixinStandardHelpOptions = true,
      description = "Allow a device for this app.")
  public static final class AddDevice extends AppTx {
    @Option(
        names = "--device",
        required = true,
        paramLabel = "HEX32",
        converter = HexConverters.Bytes32.class)
    String device;

    @Override
    Map<String, Object> run(AppPolicy app) throws GovernanceException {
      return tx(
          app.addDevice(HexConverters.b32(device)), "appId", app.address(), "deviceId", device);
    }
  }

  @Command(
      name = "remove-device",
      mixinStandardHelpOptions = true,
      description = "Disallow a device for this app.")
  public static final class RemoveDevice extends AppTx {
    @Option(
        names = "--device",
        required = true,
        paramLabel = "HEX32",
        converter = HexConverters.Bytes32.class)
    String device;

    @Override
    Map<String, Object> run(AppPolicy app) throws GovernanceException {
      return tx(
          app.removeDevice(HexConverters.b32(device)), "appId", app.address(), "deviceId", device);
    }
  }

  @Command(
      name = "set-allow-any-device",
      mixinStandardHelpOptions = true,
      description = "Allow any device (true) or only listed devices (false).")
  public static final class SetAllowAnyDevice extends AppTx {
    @Option(names = "--value", required = true, arity = "1", paramLabel = "true|false")
    boolean value;

    @Override
    Map<String, Object> run(AppPolicy app) throws GovernanceException {
      return tx(app.setAllowAnyDevice(value), "appId", app.address(), "allowAnyDevice", value);
    }
  }

  @Command(
      name = "set-require-tcb-up-to-date",
      mixinStandardHelpOptions = true,
      description = "Require TCB status UpToDate for this app.")
  public static final class SetRequireTcbUpToDate extends AppTx {
    @Option(names = "--value", required = true, arity = "1", paramLabel = "true|false")
    boolean value;

    @Override
    Map<String, Object> run(AppPolicy app) throws GovernanceException {
      return tx(
          app.setRequireTcbUpToDate(value), "appId", app.address(), "requireTcbUpToDate", value);
    }
  }

  @Command(
      name = "clear-gpu-policy",
      mixinStandardHelpOptions = true,
      description = "Drop this app's GPU requirements: the registry default applies again.")
  public static final class ClearGpuPolicy extends AppTx {
    @Override
    Map<String, Object> run(AppPolicy app) throws GovernanceException {
      return tx(app.clearGpuRequirements(), "appId", app.address());
    }
  }

  @Command(
      name = "rotate-keys",
      mixinStandardHelpOptions = true,
      description = "Start a new key version (older versions stay served down to the minimum).")
  public static final class RotateKeys extends AppTx {
    @Override
    Map<String, Object> run(AppPolicy app) throws GovernanceException {
      var tx = app.rotateKeys();
      return tx(tx, "appId", app.address(), "currentKeyVersion", app.currentKeyVersion());
    }
  }

  @Command(
      name = "set-min-key-version",
      mixinStandardHelpOptions = true,
      description = "Stop serving key versions below VERSION (after a compromise); only increases.")
  public static final class SetMinKeyVersion extends AppTx {
    @Option(names = "--version", required = true, paramLabel = "VERSION")
    long version;

    @Override
    Map<String, Object> run(AppPolicy app) throws GovernanceException {
      return tx(app.setMinKeyVersion(version), "appId", app.address(), "minKeyVersion", version);
    }
  }

  @Command(
      name = "set-rotation-period",
      mixinStandardHelpOptions = true,
      description = "Scheduled rotation period in seconds (0 = none; else 3600 .. 3650 days).")
  public static final class SetRotationPeriod extends AppTx {
    @Option(names = "--seconds", required = true, paramLabel = "SECONDS")
    long seconds;

    @Override
    Map<String, Object> run(AppPolicy app) throws GovernanceException {
      return tx(
          app.setRotationPeriod(seconds), "appId", app.address(), "rotationPeriodSeconds", seconds);
    }
  }

  @Command(
      name = "set-app-disabled",
      mixinStandardHelpOptions = true,
      description =
          "Temporarily refuse keys to every instance of the app (true), or allow again (false).")
  public static final class SetAppDisabled extends AppTx {
    @Option(names = "--value", required = true, arity = "1", paramLabel = "true|false")
    boolean value;

    @Override
    Map<String, Object> run(AppPolicy app) throws GovernanceException {
      return tx(app.setDisabled(value), "appId", app.address(), "disabled", value);
    }
  }
}
