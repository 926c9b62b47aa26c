package org.teekms.agent.boot;

import java.util.List;
import java.util.logging.Logger;
import org.teekms.attest.gpu.GpuResult;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.crypto.Bytes;
import org.teekms.governance.BootInfo;
import org.teekms.governance.DriverVersion;
import org.teekms.governance.PolicyDecision;
import org.teekms.governance.PolicyReader;
import org.teekms.keys.AppId;

/**
 * "Is this attested peer a registered KMS?" asked of the governance contract: {@code
 * KmsRegistry.isKmsAllowed} at a pinned block (measurement, device, OS image, TCB policy), with the
 * verified identity as the contract's BootInfo. A chain that cannot be read, or an identity that
 * does not fit the struct, is a refusal (fail closed).
 *
 * <p>The KMS's OS image is trusted only through hardware measurements: {@code isKmsAllowed}
 * requires the KMS's {@code mrAggregated}, a hash over MRTD, RTMR0-2 and the boot-time RTMR3 of its
 * verified quote, to be a registered KMS measurement; the OS image hash it claims in RTMR3 only
 * adds a further allowlist check.
 */
public final class ChainKmsRegistry implements KmsAuthorizer.KmsRegistry {
  private static final Logger LOG = Logger.getLogger(ChainKmsRegistry.class.getName());
  private final PolicyReader reader;

  public ChainKmsRegistry(PolicyReader reader) {
    this.reader = reader;
  }

  @Override
  public boolean isRegisteredKms(RaTlsIdentity kms) {
    BootInfo boot;
    try {
      boot = bootInfo(kms);
    } catch (IllegalArgumentException e) {
      LOG.warning("KMS identity does not fit the registry's BootInfo: " + e.getMessage());
      return false;
    }
    PolicyDecision d = reader.isKmsAllowed(boot);
    if (!d.allowed()) {
      LOG.warning(
          "the KMS registry refuses the KMS "
              + kms.mrAggregated().hex()
              + " at block "
              + d.blockNumber()
              + ": "
              + (d.failure() == null ? "" : d.failure() + " ")
              + d.reason());
    }
    return d.allowed() && d.failure() == null;
  }

  /** The verified identity as the registry's BootInfo (same mapping as the KMS uses for apps). */
  public static BootInfo bootInfo(RaTlsIdentity id) {
    List<GpuResult> gpus = id.gpus().stream().filter(GpuResult::valid).toList();
    String arch = gpus.isEmpty() ? "" : gpus.get(0).arch().name();
    long minDriver =
        gpus.stream().mapToLong(g -> DriverVersion.parse(g.driverVersion())).min().orElse(0);
    Bytes instance = id.instanceId();
    return new BootInfo(
        AppId.of(id.appId().toByteArray()),
        id.composeHash(),
        instance.isEmpty() ? Bytes.copyOf(new byte[20]) : instance,
        id.deviceId(),
        id.mrAggregated(),
        id.osImageHash().orElse(Bytes.copyOf(new byte[32])),
        id.tcbStatus().name(),
        id.advisoryIds(),
        gpus.size(),
        arch,
        minDriver,
        id.mrSystem(),
        id.osImageMeasured());
  }
}
