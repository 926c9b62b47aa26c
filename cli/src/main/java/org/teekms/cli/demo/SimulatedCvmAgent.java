package org.teekms.cli.demo;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.teekms.agent.RunningAgent;
import org.teekms.agent.api.GuestApi;
import org.teekms.agent.api.GuestApiServer;
import org.teekms.agent.boot.AgentBoot;
import org.teekms.agent.boot.Backoff;
import org.teekms.agent.boot.CvmIdentity;
import org.teekms.agent.boot.KmsAuthorizer;
import org.teekms.agent.proxy.AttestationReporter;
import org.teekms.agent.proxy.ResponseSigner;
import org.teekms.agent.proxy.SignatureStore;
import org.teekms.agent.proxy.SigningProxy;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;

/**
 * One simulated CVM running the real guest agent: a fresh simulated TD on the demo's (seeded,
 * SIMULATED) TDX platform, the agent's boot (RTMR3 identity, RA-TLS certificate, GetAppKeys over
 * mutual RA-TLS, KMS authorization, key checks), its dstack-compatible key API on a unix socket,
 * and the signing proxy in front of the model, all on loopback. Only the quote provider is
 * simulated; everything above it is the production code path.
 */
final class SimulatedCvmAgent implements AutoCloseable {
  private final RunningAgent agent;
  private final Vertx vertx;
  private final GuestApiServer api;
  private final ResponseSigner signer;
  private final SigningProxy proxy;

  private SimulatedCvmAgent(
      RunningAgent agent,
      Vertx vertx,
      GuestApiServer api,
      ResponseSigner signer,
      SigningProxy proxy) {
    this.agent = agent;
    this.vertx = vertx;
    this.api = api;
    this.signer = signer;
    this.proxy = proxy;
  }

  /**
   * Boots against the KMS at {@code 127.0.0.1:kmsPort}. A denial surfaces as {@link
   * org.teekms.agent.boot.BootFailure} with the KMS's reason, exactly as {@code teekms-agent run}
   * reports it.
   */
  static SimulatedCvmAgent boot(
      SimulatedTdx tdx,
      CvmIdentity identity,
      int kmsPort,
      KmsAuthorizer.KmsRegistry kmsRegistry,
      int llmPort,
      Path socket,
      Clock clock,
      org.teekms.attest.gpu.GpuEvidenceProvider gpu)
      throws Exception {
    return boot(
        tdx,
        new byte[48],
        SimulatedCvm.DEFAULT_IMAGE,
        identity,
        kmsPort,
        kmsRegistry,
        llmPort,
        socket,
        clock,
        gpu,
        org.teekms.agent.env.EnvSettings.NONE,
        null);
  }

  /**
   * As above, in a TD with this MRTD whose firmware measured the simulated OS image {@code image}
   * into RTMR0-2 (an attacker's own kernel is another image), opening the encrypted environment
   * {@code env} at boot; with {@code upstreamKeyVar}, the signing proxy's upstream token is that
   * variable of the decrypted environment (as {@code proxy.upstream-api-key-env}).
   */
  static SimulatedCvmAgent boot(
      SimulatedTdx tdx,
      byte[] mrTd,
      String image,
      CvmIdentity identity,
      int kmsPort,
      KmsAuthorizer.KmsRegistry kmsRegistry,
      int llmPort,
      Path socket,
      Clock clock,
      org.teekms.attest.gpu.GpuEvidenceProvider gpu,
      org.teekms.agent.env.EnvSettings env,
      String upstreamKeyVar)
      throws Exception {
    // launched as dstack's VMM launches it: MRCONFIGID = 0x01 ‖ SHA-256(app-compose)
    SimulatedCvm cvm =
        tdx.newCvm(mrTd, false)
            .launchWithMrConfigId(
                org.teekms.attest.eventlog.MrConfigId.v1(
                    identity.compose().composeHash().toByteArray()));
    RuntimeEventLog log = new RuntimeEventLog(cvm, cvm.measureFirmware(image));
    RaTlsVerifier.Builder kmsVerifier =
        RaTlsVerifier.builder(new DcapQuoteVerifier(tdx.rootCertificate()), tdx.collateralSource())
            .quotePolicy(QuotePolicy.builder().build())
            .clock(clock);
    RunningAgent agent =
        AgentBoot.boot(
            identity,
            cvm,
            log,
            gpu,
            kmsVerifier,
            kmsRegistry,
            new AgentBoot.Settings(
                "127.0.0.1",
                kmsPort,
                new Backoff(Duration.ofMillis(250), Duration.ofSeconds(2), 4),
                Duration.ofSeconds(60),
                Duration.ofHours(1),
                env),
            clock,
            Backoff.Sleeper.REAL);
    Vertx vertx =
        Vertx.vertx(new VertxOptions().setPreferNativeTransport(true)); // unix sockets need epoll
    GuestApiServer api = null;
    ResponseSigner signer = null;
    try {
      GuestApi guestApi = new GuestApi(agent);
      api = GuestApiServer.start(vertx, guestApi, GuestApiServer.Settings.defaults(socket));
      signer = ResponseSigner.forAgent(agent.keys(), org.teekms.verifier.SignedText.Format.V2);
      SigningProxy proxy =
          SigningProxy.start(
              vertx,
              new SigningProxy.Settings(
                  "127.0.0.1",
                  0,
                  URI.create("http://127.0.0.1:" + llmPort),
                  upstreamKeyVar == null ? Optional.empty() : agent.env().value(upstreamKeyVar),
                  Optional.empty(),
                  1 << 20,
                  16 << 20,
                  Duration.ofSeconds(5),
                  Duration.ofSeconds(60)),
              signer,
              new SignatureStore(1000, Duration.ofHours(1), clock),
              new AttestationReporter(agent, signer, guestApi));
      return new SimulatedCvmAgent(agent, vertx, api, signer, proxy);
    } catch (Exception | Error e) {
      if (signer != null) {
        signer.close();
      }
      if (api != null) {
        api.close();
      }
      agent.close();
      vertx.close();
      throw e;
    }
  }

  /**
   * The golden mrSystem of the demo's OS image: SHA-256(MRTD ‖ RTMR0-2) of a reference boot of it.
   */
  static byte[] referenceMrSystem(SimulatedTdx tdx) {
    SimulatedCvm reference = tdx.newCvm(new byte[48], false);
    reference.measureFirmware(SimulatedCvm.DEFAULT_IMAGE);
    return reference.mrSystem();
  }

  RunningAgent agent() {
    return agent;
  }

  String signingAddress() {
    return signer.address();
  }

  int proxyPort() {
    return proxy.port();
  }

  Path socket() {
    return api.socket();
  }

  @Override
  public void close() {
    proxy.close();
    signer.close();
    api.close();
    agent.close(); // destroys the keys
    vertx.close();
  }
}
