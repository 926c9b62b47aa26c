package org.teekms.governance.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.teekms.governance.AppPolicy;
import org.teekms.governance.ChainClient;
import org.teekms.governance.DriverVersion;
import org.teekms.governance.GovernanceException;
import org.teekms.governance.GpuPolicy;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.TxResult;
import org.web3j.crypto.Credentials;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Commands of the registry owner. */
final class RegistryCommands {
  private RegistryCommands() {}

  /** {@code --registry}, defaulting to env TEEKMS_REGISTRY. */
  static final class RegistryOption {
    @Option(
        names = "--registry",
        paramLabel = "ADDRESS",
        defaultValue = "${env:TEEKMS_REGISTRY}",
        converter = HexConverters.AddressConverter.class,
        description = "KmsRegistry contract address (env TEEKMS_REGISTRY).")
    String address;

    KmsRegistry bind(ChainClient chain, Credentials signer) throws GovernanceException {
      if (address == null) {
        throw new GovernanceException(
            GovernanceException.Kind.INVALID_INPUT,
            "--registry (or env TEEKMS_REGISTRY) is required");
      }
      return KmsRegistry.at(chain, address, signer);
    }
  }

  /** A registry-owner transaction. */
  abstract static class RegistryTx extends TxCommand {
    @picocli.CommandLine.Mixin RegistryOption registryOption;

    @Override
    final Map<String, Object> run(ChainClient chain) throws GovernanceException {
      return run(registryOption.bind(chain, keyOptions.load()));
    }

    abstract Map<String, Object> run(KmsRegistry registry) throws GovernanceException;
  }

  @Command(
      name = "deploy-registry",
      mixinStandardHelpOptions = true,
      description = "Deploy a KmsRegistry (and its app factory); prints its address.")
  public static final class DeployRegistry extends TxCommand {
    @Option(
        names = "--owner",
        paramLabel = "ADDRESS",
        converter = HexConverters.AddressConverter.class,
        description = "Owner of the registry, e.g. a multisig (default: the sending account).")
    String owner;

    @Override
    Map<String, Object> run(ChainClient chain) throws GovernanceException {
      Credentials key = keyOptions.load();
      String o = senderOr(owner, "--owner");
      KmsRegistry.Deployed d = KmsRegistry.deploy(chain, key, o);
      return tx(
          d.tx(),
          "registry",
          d.registry().address(),
          "owner",
          o.toLowerCase(java.util.Locale.ROOT),
          "chainId",
          chain.chainId());
    }
  }

  @Command(
      name = "register-app",
      mixinStandardHelpOptions = true,
      description = "Create an app (its AppPolicy contract); prints the app id.")
  public static final class RegisterApp extends RegistryTx {
    @Option(
        names = "--owner",
        paramLabel = "ADDRESS",
        converter = HexConverters.AddressConverter.class,
        description = "Owner of the app policy (default: the sending account).")
    String owner;

    @Override
    Map<String, Object> run(KmsRegistry registry) throws GovernanceException {
      String o = senderOr(owner, "--owner");
      KmsRegistry.Registration r = registry.registerApp(o);
      return tx(r.tx(), "appId", r.appId(), "owner", o.toLowerCase(java.util.Locale.ROOT));
    }
  }

  @Command(
      name = "deregister-app",
      mixinStandardHelpOptions = true,
      description = "Remove an app for good: as its owner (default) or as the registry owner.")
  public static final class DeregisterApp extends TxCommand {
    @Option(
        names = "--app",
        required = true,
        paramLabel = "APP_ID",
        converter = HexConverters.AddressConverter.class)
    String app;

    @Option(
        names = "--as-registry-owner",
        description = "Send KmsRegistry.deregisterApp as the registry owner.")
    boolean asRegistryOwner;

    @Override
    Map<String, Object> run(ChainClient chain) throws GovernanceException {
      Credentials key = keyOptions.load();
      AppPolicy policy = AppPolicy.at(chain, app, key);
      TxResult tx =
          asRegistryOwner
              ? KmsRegistry.at(chain, policy.registry(), key).deregisterApp(app)
              : policy.deregister();
      return tx(tx, "appId", app);
    }
  }

  @Command(
      name = "add-os-image",
      mixinStandardHelpOptions = true,
      description = "Allow an OS image hash.")
  public static final class AddOsImage extends RegistryTx {
    @Option(
        names = "--hash",
        required = true,
        paramLabel = "HEX32",
        converter = HexConverters.Bytes32.class)
    String hash;

    @Override
    Map<String, Object> run(KmsRegistry r) throws GovernanceException {
      return tx(r.addOsImage(HexConverters.b32(hash)), "osImageHash", hash);
    }
  }

  @Command(
      name = "remove-os-image",
      mixinStandardHelpOptions = true,
      description = "Disallow an OS image hash.")
  public static final class RemoveOsImage extends RegistryTx {
    @Option(
        names = "--hash",
        required = true,
        paramLabel = "HEX32",
        converter = HexConverters.Bytes32.class)
    String hash;

    @Override
    Map<String, Object> run(KmsRegistry r) throws GovernanceException {
      return tx(r.removeOsImage(HexConverters.b32(hash)), "osImageHash", hash);
    }
  }

  /**
   * One (OS image, golden mrSystem) pair: the options and the output both measurement commands
   * share.
   */
  abstract static class OsImageMeasurementTx extends RegistryTx {
    @Option(
        names = "--image",
        required = true,
        paramLabel = "HEX32",
        converter = HexConverters.Bytes32.class,
        description = "The OS image hash.")
    String image;

    @Option(
        names = "--mr-system",
        required = true,
        paramLabel = "HEX32",
        converter = HexConverters.Bytes32.class)
    String mrSystem;

    @Override
    final Map<String, Object> run(KmsRegistry r) throws GovernanceException {
      Map<String, Object> out =
          tx(send(r, HexConverters.b32(image), HexConverters.b32(mrSystem)), "osImageHash", image);
      out.put("mrSystem", mrSystem);
      return out;
    }

    abstract TxResult send(KmsRegistry r, byte[] image, byte[] mrSystem) throws GovernanceException;
  }

  @Command(
      name = "add-os-image-measurement",
      mixinStandardHelpOptions = true,
      description =
          "Register a golden measurement of an OS image: mrSystem = SHA-256(MRTD || RTMR0 || RTMR1 || RTMR2) "
              + "of a reference boot (teekms verify quote|ratls prints it). Apps booting that image are admitted only "
              + "with a registered mrSystem (or a verified measurement document).")
  public static final class AddOsImageMeasurement extends OsImageMeasurementTx {
    @Override
    TxResult send(KmsRegistry r, byte[] image, byte[] mrSystem) throws GovernanceException {
      return r.addOsImageMeasurement(image, mrSystem);
    }
  }

  @Command(
      name = "remove-os-image-measurement",
      mixinStandardHelpOptions = true,
      description = "Remove a golden measurement (mrSystem) of an OS image.")
  public static final class RemoveOsImageMeasurement extends OsImageMeasurementTx {
    @Override
    TxResult send(KmsRegistry r, byte[] image, byte[] mrSystem) throws GovernanceException {
      return r.removeOsImageMeasurement(image, mrSystem);
    }
  }

  @Command(
      name = "add-kms-measurement",
      mixinStandardHelpOptions = true,
      description = "Allow a KMS replica measurement (aggregated).")
  public static final class AddKmsMeasurement extends RegistryTx {
    @Option(
        names = "--measurement",
        required = true,
        paramLabel = "HEX32",
        converter = HexConverters.Bytes32.class)
    String measurement;

    @Override
    Map<String, Object> run(KmsRegistry r) throws GovernanceException {
      return tx(r.addKmsMeasurement(HexConverters.b32(measurement)), "measurement", measurement);
    }
  }

  @Command(
      name = "remove-kms-measurement",
      mixinStandardHelpOptions = true,
      description = "Disallow a KMS replica measurement.")
  public static final class RemoveKmsMeasurement extends RegistryTx {
    @Option(
        names = "--measurement",
        required = true,
        paramLabel = "HEX32",
        converter = HexConverters.Bytes32.class)
    String measurement;

    @Override
    Map<String, Object> run(KmsRegistry r) throws GovernanceException {
      return tx(r.removeKmsMeasurement(HexConverters.b32(measurement)), "measurement", measurement);
    }
  }

  @Command(
      name = "add-kms-device",
      mixinStandardHelpOptions = true,
      description = "Allow a KMS replica device.")
  public static final class AddKmsDevice extends RegistryTx {
    @Option(
        names = "--device",
        required = true,
        paramLabel = "HEX32",
        converter = HexConverters.Bytes32.class)
    String device;

    @Override
    Map<String, Object> run(KmsRegistry r) throws GovernanceException {
      return tx(r.addKmsDevice(HexConverters.b32(device)), "deviceId", device);
    }
  }

  @Command(
      name = "remove-kms-device",
      mixinStandardHelpOptions = true,
      description = "Disallow a KMS replica device.")
  public static final class RemoveKmsDevice extends RegistryTx {
    @Option(
        names = "--device",
        required = true,
        paramLabel = "HEX32",
        converter = HexConverters.Bytes32.class)
    String device;

    @Override
    Map<String, Object> run(KmsRegistry r) throws GovernanceException {
      return tx(r.removeKmsDevice(HexConverters.b32(device)), "deviceId", device);
    }
  }

  @Command(
      name = "set-tcb-policy",
      mixinStandardHelpOptions = true,
      description = "Replace the acceptable TCB statuses and advisory IDs.")
  public static final class SetTcbPolicy extends RegistryTx {
    @Option(
        names = "--status",
        required = true,
        paramLabel = "STATUS",
        description =
            "Acceptable TCB status (repeat): UpToDate, SWHardeningNeeded, ConfigurationNeeded, "
                + "ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded.")
    List<String> statuses;

    @Option(
        names = "--advisory",
        paramLabel = "ID",
        description = "Acceptable advisory ID (repeat), e.g. " + "INTEL-SA-00615.")
    List<String> advisories = List.of();

    @Override
    Map<String, Object> run(KmsRegistry r) throws GovernanceException {
      return tx(
          r.setTcbPolicy(statuses, advisories), "statuses", statuses, "advisoryIds", advisories);
    }
  }

  /** GPU requirement options shared by the registry default and app overrides. */
  static final class GpuOptions {
    @Option(
        names = "--count",
        required = true,
        paramLabel = "N",
        description = "Minimum attested GPUs (0 = none).")
    int count;

    @Option(
        names = "--arch",
        paramLabel = "ARCH",
        defaultValue = "",
        description = "Required architecture, e.g. HOPPER (default: any).")
    String arch;

    @Option(
        names = "--min-driver",
        paramLabel = "VERSION",
        description = "Minimum driver version, e.g. 550.127.05 (default: any).")
    String minDriver;

    GpuPolicy policy() {
      return new GpuPolicy(count, arch, minDriver == null ? 0 : DriverVersion.parse(minDriver));
    }
  }

  @Command(
      name = "set-gpu-policy",
      mixinStandardHelpOptions = true,
      description = "Set GPU requirements: the registry default, or one app's own with --app.")
  public static final class SetGpuPolicy extends TxCommand {
    @picocli.CommandLine.Mixin RegistryOption registryOption;

    @Option(
        names = "--app",
        paramLabel = "APP_ID",
        converter = HexConverters.AddressConverter.class,
        description =
            "Set this app's requirements instead of the registry default (as the app owner).")
    String app;

    @ArgGroup(exclusive = false, multiplicity = "1")
    GpuOptions gpu;

    @Override
    Map<String, Object> run(ChainClient chain) throws GovernanceException {
      GpuPolicy p;
      try {
        p = gpu.policy();
      } catch (IllegalArgumentException e) {
        throw new GovernanceException(GovernanceException.Kind.INVALID_INPUT, e.getMessage());
      }
      Credentials key = keyOptions.load();
      TxResult tx =
          app != null
              ? AppPolicy.at(chain, app, key).setGpuRequirements(p)
              : registryOption.bind(chain, key).setDefaultGpuPolicy(p);
      return tx(
          tx,
          "scope",
          app == null ? "registry default" : app,
          "count",
          p.count(),
          "arch",
          p.arch(),
          "minDriverVersion",
          DriverVersion.format(p.minDriverVersion()));
    }
  }

  @Command(
      name = "set-open-registration",
      mixinStandardHelpOptions = true,
      description = "Let anyone register apps (true) or only the registry owner (false).")
  public static final class SetOpenRegistration extends RegistryTx {
    @Option(names = "--value", required = true, arity = "1", paramLabel = "true|false")
    boolean value;

    @Override
    Map<String, Object> run(KmsRegistry r) throws GovernanceException {
      return tx(r.setOpenRegistration(value), "openRegistration", value);
    }
  }

  @Command(
      name = "set-audit-anchorer",
      mixinStandardHelpOptions = true,
      description =
          "Name the account that may anchor the KMS's audit head on chain besides the owner (the KMS's "
              + "kms-audit-anchor account: audit_anchor_address in GetKmsInfo); 0x000…0 leaves anchoring to the owner alone.")
  public static final class SetAuditAnchorer extends RegistryTx {
    @Option(
        names = "--anchorer",
        required = true,
        paramLabel = "ADDRESS",
        converter = HexConverters.AddressConverter.class)
    String anchorer;

    @Override
    Map<String, Object> run(KmsRegistry r) throws GovernanceException {
      return tx(
          r.setAuditAnchorer(anchorer),
          "auditAnchorer",
          anchorer.toLowerCase(java.util.Locale.ROOT));
    }
  }

  @Command(
      name = "set-kms-identity",
      mixinStandardHelpOptions = true,
      description =
          "Publish a root generation's identity (once per generation); it becomes the current generation on "
              + "chain and the previous one is retired (the KMS's anti-rollback anchor).")
  public static final class SetKmsIdentity extends RegistryTx {
    @Option(names = "--generation", required = true, paramLabel = "N")
    long generation;

    @Option(
        names = "--root-keys",
        required = true,
        paramLabel = "FILE",
        description = "Root public keys (binary, as the KMS prints them).")
    Path rootKeys;

    @Option(
        names = "--ca-cert",
        required = true,
        paramLabel = "FILE",
        description = "KMS CA certificate (DER).")
    Path caCert;

    @Option(
        names = "--quote",
        required = true,
        paramLabel = "FILE",
        description = "The KMS's quote (binary).")
    Path quote;

    @Override
    Map<String, Object> run(KmsRegistry r) throws GovernanceException {
      return tx(
          r.setKmsIdentity(generation, read(rootKeys), read(caCert), read(quote)),
          "generation",
          generation);
    }
  }

  @Command(
      name = "destroy-root-generation",
      mixinStandardHelpOptions = true,
      description =
          "Mark a retired root generation destroyed on chain (irreversible): from then on the KMS refuses to "
              + "unseal it or release keys derived from it, whatever its database says.")
  public static final class DestroyRootGeneration extends RegistryTx {
    @Option(names = "--generation", required = true, paramLabel = "N")
    long generation;

    @Override
    Map<String, Object> run(KmsRegistry r) throws GovernanceException {
      if (generation < 1 || generation > 0xffffffffL) {
        throw new GovernanceException(
            GovernanceException.Kind.INVALID_INPUT, "--generation must be 1..4294967295");
      }
      return tx(
          r.destroyRootGeneration(generation), "generation", generation, "state", "DESTROYED");
    }
  }

  static byte[] read(Path file) throws GovernanceException {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new GovernanceException(
          GovernanceException.Kind.INVALID_INPUT, "cannot read " + file + ": " + e);
    }
  }
}
