package org.teekms.kms.app;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.List;
import java.util.Map;
import org.teekms.governance.AppPolicy;
import org.teekms.governance.ChainClient;
import org.teekms.governance.GpuPolicy;
import org.teekms.governance.KmsRegistry;
import org.teekms.governance.testing.AnvilNode;
import org.web3j.crypto.Credentials;

/**
 * A local chain (anvil) with a KmsRegistry and two apps running {@link
 * GpuAdmissionRaTlsTest#COMPOSE} on {@link GpuAdmissionRaTlsTest#OS_IMAGE}: {@code gpu-it.app2}
 * requires 2 Hopper GPUs, {@code gpu-it.app8} requires 8.
 */
public class GpuChainResource implements QuarkusTestResourceLifecycleManager {

  private AnvilNode anvil;

  @Override
  public Map<String, String> start() {
    try {
      anvil = AnvilNode.start();
      Credentials operator = anvil.fundedAccount();
      String registryAddress;
      String app2;
      String app8;
      try (ChainClient chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID)) {
        KmsRegistry registry =
            KmsRegistry.deploy(chain, operator, operator.getAddress()).registry();
        registryAddress = registry.address();
        registry.setTcbPolicy(List.of("UpToDate"), List.of());
        registry.addOsImage(GpuAdmissionRaTlsTest.OS_IMAGE);
        // the test CVMs measure no firmware: MRTD and RTMR0-2 are zero, so their mrSystem is
        // SHA-256 of 192 zero bytes
        registry.addOsImageMeasurement(
            GpuAdmissionRaTlsTest.OS_IMAGE,
            java.security.MessageDigest.getInstance("SHA-256").digest(new byte[4 * 48]));
        app2 = app(chain, registry, operator, 2);
        app8 = app(chain, registry, operator, 8);
      }
      return Map.of(
          "teekms.chain.rpc-url",
          anvil.rpcUrl(),
          "teekms.chain.chain-id",
          String.valueOf(AnvilNode.CHAIN_ID),
          "teekms.chain.registry-address",
          registryAddress,
          "teekms.chain.confirmations",
          "0",
          "gpu-it.app2",
          app2,
          "gpu-it.app8",
          app8);
    } catch (Exception e) {
      throw new IllegalStateException("could not start anvil with a KmsRegistry", e);
    }
  }

  private static String app(ChainClient chain, KmsRegistry registry, Credentials owner, int gpus)
      throws Exception {
    String id = registry.registerApp(owner.getAddress()).appId();
    AppPolicy app = AppPolicy.at(chain, id, owner);
    app.addComposeHash(GpuAdmissionRaTlsTest.composeHash());
    app.setAllowAnyDevice(true);
    app.setGpuRequirements(new GpuPolicy(gpus, "HOPPER", 0));
    return id;
  }

  @Override
  public void stop() {
    if (anvil != null) {
      anvil.close();
    }
  }
}
