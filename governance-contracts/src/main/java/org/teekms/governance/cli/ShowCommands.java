package org.teekms.governance.cli;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.teekms.governance.AppPolicy;
import org.teekms.governance.BootInfo;
import org.teekms.governance.BootInfoJson;
import org.teekms.governance.ChainClient;
import org.teekms.governance.DriverVersion;
import org.teekms.governance.GovernanceContract;
import org.teekms.governance.GovernanceException;
import org.teekms.governance.GpuPolicy;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.PolicyEvent;
import org.web3j.protocol.core.DefaultBlockParameter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Read-only commands: no key needed. */
final class ShowCommands {
  private ShowCommands() {}

  static Map<String, Object> gpu(GpuPolicy p) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("count", p.count());
    m.put("arch", p.arch());
    m.put("minDriverVersion", DriverVersion.format(p.minDriverVersion()));
    return m;
  }

  @Command(
      name = "show-registry",
      mixinStandardHelpOptions = true,
      description =
          "Print the registry: owner, KMS identities, replicas, OS images, TCB and GPU policy, apps.")
  public static final class ShowRegistry extends ChainCommand {
    @Mixin RegistryCommands.RegistryOption registryOption;

    @Override
    Map<String, Object> run(ChainClient chain) throws GovernanceException {
      KmsRegistry r = registryOption.bind(chain, null);
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("registry", r.address());
      out.put("blockNumber", chain.blockNumber());
      out.put("owner", r.owner());
      out.put("pendingOwner", r.pendingOwner());
      long generations = r.kmsGeneration();
      org.teekms.governance.RootAnchor anchor = r.rootGenerations();
      out.put("currentRootGeneration", anchor.current());
      List<Object> ids = new ArrayList<>();
      for (long g = 1; g <= generations; g++) {
        KmsRegistry.KmsIdentity id = r.kmsIdentity(g);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("generation", g);
        m.put("state", anchor.state((int) g).name());
        m.put("rootPublicKeys", id.rootPublicKeys().toByteArray());
        m.put("caCertificateSha256", id.caCertificateSha256().toByteArray());
        m.put("quoteSha256", id.quoteSha256().toByteArray());
        m.put("setAtBlock", id.setAtBlock());
        ids.add(m);
      }
      out.put("kmsIdentities", ids);
      out.put("kmsMeasurements", r.kmsMeasurements());
      out.put("kmsDevices", r.kmsDevices());
      List<byte[]> images = r.osImages();
      out.put("osImages", images);
      Map<String, Object> golden = new LinkedHashMap<>();
      for (byte[] image : images) {
        golden.put(org.web3j.utils.Numeric.toHexString(image), r.osImageMeasurements(image));
      }
      out.put("osImageMeasurements", golden);
      KmsRegistry.TcbPolicy tcb = r.tcbPolicy();
      out.put("tcbStatuses", tcb.statuses());
      out.put("advisoryIds", tcb.advisoryIds());
      out.put("defaultGpuPolicy", gpu(r.defaultGpuPolicy()));
      out.put("openRegistration", r.openRegistration());
      Map<String, Object> apps = new LinkedHashMap<>();
      for (String app : r.apps()) apps.put(app, r.appStatus(app).name());
      out.put("apps", apps);
      return out;
    }
  }

  @Command(
      name = "show-app",
      mixinStandardHelpOptions = true,
      description = "Print an app's full policy, every field read at one block.")
  public static final class ShowApp extends ChainCommand {
    @Option(
        names = "--app",
        required = true,
        paramLabel = "APP_ID",
        converter = HexConverters.AddressConverter.class)
    String app;

    @Option(
        names = "--block",
        paramLabel = "N",
        description = "Read at this block (default: latest).")
    Long block;

    @Override
    Map<String, Object> run(ChainClient chain) throws GovernanceException {
      long n = block == null ? chain.blockNumber() : block;
      AppPolicy.Snapshot s =
          AppPolicy.at(chain, app, null)
              .snapshot(DefaultBlockParameter.valueOf(BigInteger.valueOf(n)));
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("appId", s.appId());
      out.put("blockNumber", n);
      out.put("status", s.status().name());
      out.put("owner", s.owner());
      out.put("pendingOwner", s.pendingOwner());
      out.put("registry", s.registry());
      out.put("disabled", s.disabled());
      out.put("composeHashes", s.composeHashes());
      out.put("allowAnyDevice", s.allowAnyDevice());
      out.put("devices", s.devices());
      out.put("requireTcbUpToDate", s.requireTcbUpToDate());
      out.put(
          "gpuRequirements",
          s.hasGpuRequirements() ? gpu(s.gpuRequirements()) : "registry default");
      out.put("effectiveGpuPolicy", gpu(s.effectiveGpuPolicy()));
      Map<String, Object> keys = new LinkedHashMap<>();
      keys.put("currentKeyVersion", s.currentKeyVersion());
      keys.put("minKeyVersion", s.minKeyVersion());
      keys.put("rotationPeriodSeconds", s.rotationPeriodSeconds());
      keys.put("lastRotation", s.lastRotationEpochSeconds());
      keys.put("rotationDue", s.rotationDue());
      out.put("keys", keys);
      return out;
    }
  }

  @Command(
      name = "history",
      mixinStandardHelpOptions = true,
      description =
          "Print an app's history rebuilt from events: who changed what, old and new values.")
  public static final class History extends ChainCommand {
    @Option(
        names = "--app",
        required = true,
        paramLabel = "APP_ID",
        converter = HexConverters.AddressConverter.class)
    String app;

    @Override
    Map<String, Object> run(ChainClient chain) throws GovernanceException {
      List<Object> events = new ArrayList<>();
      for (PolicyEvent e : AppPolicy.at(chain, app, null).history()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("blockNumber", e.blockNumber());
        m.put("txHash", e.txHash());
        m.put("logIndex", e.logIndex());
        m.put("contract", e.contract());
        m.put("event", e.event());
        m.put("args", e.args());
        events.add(m);
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("appId", app);
      out.put("events", events);
      return out;
    }
  }

  @Command(
      name = "check-app",
      mixinStandardHelpOptions = true,
      description = "Evaluate KmsRegistry.isAppAllowed for a BootInfo JSON file, as the KMS would.")
  public static final class CheckApp extends ChainCommand {
    @Mixin RegistryCommands.RegistryOption registryOption;

    @Option(names = "--boot", required = true, paramLabel = "FILE", description = "BootInfo JSON.")
    Path bootFile;

    @Override
    Map<String, Object> run(ChainClient chain) throws GovernanceException {
      BootInfo boot;
      try {
        boot = BootInfoJson.parse(Files.readString(bootFile, StandardCharsets.UTF_8));
      } catch (IOException | IllegalArgumentException e) {
        throw new GovernanceException(
            GovernanceException.Kind.INVALID_INPUT, bootFile + ": " + e.getMessage());
      }
      long n = chain.blockNumber();
      GovernanceContract.Verdict v =
          registryOption
              .bind(chain, null)
              .isAppAllowed(boot, DefaultBlockParameter.valueOf(BigInteger.valueOf(n)));
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("allowed", v.allowed());
      out.put("denial", v.denial().name());
      out.put("reason", v.reason());
      out.put("blockNumber", n);
      out.put("boot", BootInfoJson.toMap(boot));
      return out;
    }
  }
}
