package org.teekms.agent;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.teekms.agent.boot.AgentBoot;
import org.teekms.agent.boot.AppCompose;
import org.teekms.agent.boot.Backoff;
import org.teekms.agent.boot.BootFailure;
import org.teekms.agent.boot.CvmIdentity;
import org.teekms.agent.boot.KmsAuthorizer;
import org.teekms.attest.gpu.GpuEvidenceProvider;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.ratls.SimulatedRaTls;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;
import org.teekms.keys.InstanceId;

/** Boots agents in fresh simulated CVMs against a {@link TestKms}. */
final class AgentFixture {
  static final AppId APP = AppId.fromHex("11".repeat(20));
  static final InstanceId INSTANCE = InstanceId.fromHex("22".repeat(20));
  static final byte[] OS_IMAGE = HexFormat.of().parseHex("33".repeat(32));
  static final String COMPOSE =
      "{\"manifest_version\":2,\"name\":\"demo-llm\",\"runner\":\"docker-compose\","
          + "\"description\":\"Grüße — 推理\",\"docker_compose_file\":\"services:\\n  vllm:\\n    image: vllm/vllm-openai\\n\",\"key_provider\":\"kms\","
          + "\"public_sysinfo\":true}";

  /** Sleeps recorded instead of slept. */
  static final class RecordingSleeper implements Backoff.Sleeper {
    final List<Duration> slept = new ArrayList<>();

    @Override
    public void sleep(Duration d) {
      if (!d.isZero()) {
        slept.add(d);
      }
    }
  }

  private AgentFixture() {}

  static CvmIdentity identity(String compose) {
    return new CvmIdentity(
        APP,
        INSTANCE,
        Bytes.copyOf(OS_IMAGE),
        AppCompose.parse(compose.getBytes(StandardCharsets.UTF_8)));
  }

  static KmsAuthorizer.KmsRegistry registering(TestKms kms) {
    return KmsAuthorizer.KmsRegistry.allowing(Set.of(kms.identity.mrAggregated()));
  }

  static RunningAgent boot(
      TestKms kms,
      String compose,
      KmsAuthorizer.KmsRegistry registry,
      int attempts,
      Backoff.Sleeper sleeper,
      GpuEvidenceProvider gpu)
      throws BootFailure {
    return boot(kms, compose, registry, null, attempts, sleeper, gpu);
  }

  static RunningAgent boot(
      TestKms kms,
      String compose,
      KmsAuthorizer.KmsRegistry registry,
      org.teekms.agent.boot.PublishedKmsIdentity.Registry published,
      int attempts,
      Backoff.Sleeper sleeper,
      GpuEvidenceProvider gpu)
      throws BootFailure {
    return boot(
        kms,
        compose,
        registry,
        published,
        attempts,
        sleeper,
        gpu,
        org.teekms.agent.env.EnvSettings.NONE);
  }

  static RunningAgent boot(
      TestKms kms,
      String compose,
      KmsAuthorizer.KmsRegistry registry,
      org.teekms.agent.boot.PublishedKmsIdentity.Registry published,
      int attempts,
      Backoff.Sleeper sleeper,
      GpuEvidenceProvider gpu,
      org.teekms.agent.env.EnvSettings env)
      throws BootFailure {
    return boot(kms, compose, registry, published, attempts, sleeper, gpu, env, null);
  }

  /**
   * As above, on a CVM its host launched with {@code mrConfigId} (48 bytes; null: zero, a launch
   * that does not bind the compose).
   */
  static RunningAgent boot(
      TestKms kms,
      String compose,
      KmsAuthorizer.KmsRegistry registry,
      org.teekms.agent.boot.PublishedKmsIdentity.Registry published,
      int attempts,
      Backoff.Sleeper sleeper,
      GpuEvidenceProvider gpu,
      org.teekms.agent.env.EnvSettings env,
      byte[] mrConfigId)
      throws BootFailure {
    return boot(kms, compose, registry, published, attempts, sleeper, gpu, env, mrConfigId, q -> q);
  }

  /**
   * As above; the agent quotes through {@code quotes} applied to the simulated CVM (e.g. a wrapper
   * that counts quotes).
   */
  static RunningAgent boot(
      TestKms kms,
      String compose,
      KmsAuthorizer.KmsRegistry registry,
      org.teekms.agent.boot.PublishedKmsIdentity.Registry published,
      int attempts,
      Backoff.Sleeper sleeper,
      GpuEvidenceProvider gpu,
      org.teekms.agent.env.EnvSettings env,
      byte[] mrConfigId,
      java.util.function.UnaryOperator<org.teekms.attest.provider.QuoteProvider> quotes)
      throws BootFailure {
    SimulatedCvm cvm = SimulatedRaTls.TDX.newCvm(new byte[48], false);
    if (mrConfigId != null) {
      cvm.launchWithMrConfigId(mrConfigId);
    }
    RuntimeEventLog log = new RuntimeEventLog(cvm, List.of());
    return AgentBoot.boot(
        identity(compose),
        quotes.apply(cvm),
        log,
        gpu,
        SimulatedRaTls.verifier(),
        registry,
        published,
        new AgentBoot.Settings(
            "127.0.0.1",
            kms.port(),
            new Backoff(Duration.ofMillis(10), Duration.ofMillis(50), attempts),
            Duration.ofSeconds(20),
            Duration.ofHours(1),
            env),
        SimulatedRaTls.CLOCK,
        sleeper);
  }

  static RunningAgent boot(TestKms kms) throws BootFailure {
    kms.allow(
        APP,
        AppCompose.parse(COMPOSE.getBytes(StandardCharsets.UTF_8)).composeHash().toByteArray());
    return boot(kms, COMPOSE, registering(kms), 3, new RecordingSleeper(), null);
  }
}
