package org.teekms.kms.tls;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.jboss.logging.Logger;
import org.teekms.attest.gpu.CertChainValidator;
import org.teekms.attest.gpu.GpuEvidenceVerifier;
import org.teekms.attest.gpu.GpuSimulation;
import org.teekms.attest.gpu.NvidiaRimService;
import org.teekms.attest.gpu.NvidiaRoots;
import org.teekms.attest.gpu.OcspChecker;
import org.teekms.attest.gpu.RevocationChecker;
import org.teekms.attest.gpu.Rim;
import org.teekms.attest.gpu.RimStore;
import org.teekms.attest.gpu.RimVerifier;
import org.teekms.kms.wiring.KmsConfig;

/**
 * The KMS's verifier of the GPU evidence in clients' RA-TLS certificates, from {@code teekms.gpu.*}
 * (kms-server/README.md). Modes:
 *
 * <ul>
 *   <li>{@code nvidia}: NVIDIA's Device Identity CA and CoRIM signing root (or the configured
 *       replacements); RIMs from {@code teekms.gpu.rim.directory} and/or {@code
 *       teekms.gpu.rim.service-url} (one is required: without RIMs a GPU's firmware and driver are
 *       not compared with anything); OCSP at the configured responder;
 *   <li>{@code simulator} (only with teekms.simulator.enabled=true): the GPU simulator's roots
 *       derived from teekms.simulator.seed, its RIMs unless a directory is configured; same OCSP
 *       settings;
 *   <li>{@code disabled}: nothing verified; apps that require GPUs are refused
 *       (GPU_VERIFIER_NOT_CONFIGURED).
 * </ul>
 *
 * OCSP is fail-closed by default; {@code disabled} is refused in the prod profile. Any missing or
 * unreadable piece stops startup with the key to set.
 */
final class GpuVerification {

  private static final Logger LOG = Logger.getLogger(GpuVerification.class);
  static final String NVIDIA = "nvidia";
  static final String SIMULATOR = "simulator";
  static final String DISABLED = "disabled";

  private GpuVerification() {}

  /** The verifier, or empty when GPU verification is disabled. */
  static Optional<GpuEvidenceVerifier> build(KmsConfig config, boolean prod) {
    KmsConfig.Gpu gpu = config.gpu();
    boolean simulatorEnabled = config.simulator().enabled();
    String mode =
        gpu.verification().orElse(simulatorEnabled ? SIMULATOR : NVIDIA).toLowerCase(Locale.ROOT);
    if (!List.of(NVIDIA, SIMULATOR, DISABLED).contains(mode)) {
      throw new IllegalStateException(
          "unknown teekms.gpu.verification '"
              + mode
              + "' (use "
              + NVIDIA
              + ", "
              + DISABLED
              + ", or "
              + SIMULATOR
              + " with teekms.simulator.enabled=true)");
    }
    if (DISABLED.equals(mode)) {
      LOG.warn(
          "GPU attestation: DISABLED (teekms.gpu.verification=disabled): GPU evidence is not verified and every "
              + "app whose on-chain policy requires GPUs is refused (GPU_VERIFIER_NOT_CONFIGURED)");
      return Optional.empty();
    }
    OcspChecker.Mode ocspMode = ocspMode(gpu.ocsp().mode(), prod);
    OcspChecker.Config ocsp =
        new OcspChecker.Config(
            URI.create(gpu.ocsp().responderUrl()),
            ocspMode,
            gpu.ocsp().maxAge(),
            OcspChecker.Config.defaults().clockSkew(),
            gpu.ocsp().timeout(),
            gpu.ocsp().cacheSize());
    RevocationChecker revocation =
        ocspMode == OcspChecker.Mode.DISABLED
            ? RevocationChecker.disabled()
            : new OcspChecker(ocsp);
    X509Certificate deviceRoot;
    X509Certificate rimRoot;
    RimStore rims;
    if (SIMULATOR.equals(mode)) {
      if (!simulatorEnabled) {
        throw new IllegalStateException(
            "teekms.gpu.verification=simulator needs teekms.simulator.enabled=true "
                + "(refused in the prod profile)");
      }
      byte[] seed =
          config
              .simulator()
              .seed()
              .map(h -> HexFormat.of().parseHex(h))
              .orElseGet(
                  () -> {
                    byte[] fresh = new byte[32];
                    new java.security.SecureRandom().nextBytes(fresh);
                    return fresh;
                  });
      GpuSimulation.Roots sim =
          GpuSimulation.load("teekms.gpu.verification=simulator", SimulatorClassLoader.of(config))
              .roots(seed);
      deviceRoot = sim.deviceRoot();
      rimRoot = sim.rimRoot();
      rims =
          gpu.rim().directory().isPresent()
              ? directory(gpu.rim().directory().get(), rimRoot)
              : RimStore.of(
                  sim.rims().entrySet().stream()
                      .map(e -> simulatedRim(e.getValue().toByteArray(), rimRoot, e.getKey()))
                      .toList());
      LOG.warnf(
          "GPU attestation: SIMULATED GPU roots (%s); only simulated GPUs sharing teekms.simulator.seed verify",
          deviceRoot.getSubjectX500Principal());
    } else {
      deviceRoot =
          gpu.deviceRootCa()
              .map(p -> pem(p, "teekms.gpu.device-root-ca"))
              .orElseGet(NvidiaRoots::deviceIdentityCa);
      rimRoot =
          gpu.rimRootCa()
              .map(p -> pem(p, "teekms.gpu.rim-root-ca"))
              .orElseGet(NvidiaRoots::rimSigningRootCa);
      if (gpu.rim().directory().isEmpty() && gpu.rim().serviceUrl().isEmpty()) {
        throw new IllegalStateException(
            "teekms.gpu.rim.directory or teekms.gpu.rim.service-url is required with "
                + "teekms.gpu.verification=nvidia (GPU measurements must be compared with NVIDIA's RIMs); set "
                + "teekms.gpu.verification=disabled only if no app served by this KMS requires GPUs");
      }
      rims =
          gpu.rim()
              .directory()
              .map(d -> directory(d, rimRoot))
              .orElseGet(() -> RimStore.of(List.of()));
    }
    if (gpu.rim().serviceUrl().isPresent()) {
      String url = gpu.rim().serviceUrl().get();
      rims =
          rims.withService(
              new NvidiaRimService(URI.create(url), gpu.rim().timeout()),
              rimRoot,
              gpu.rim().cacheSize());
    }
    LOG.infof(
        "GPU attestation: device root %s, RIM root %s, %d RIM file(s)%s, OCSP %s at %s",
        deviceRoot.getSubjectX500Principal(),
        rimRoot.getSubjectX500Principal(),
        rims.rims().size(),
        gpu.rim().serviceUrl().map(u -> " + RIM service " + u).orElse(""),
        ocspMode,
        ocsp.responder());
    if (!rims.rejected().isEmpty()) {
      LOG.warnf("GPU attestation: RIM files rejected: %s", rims.rejected());
    }
    return Optional.of(
        GpuEvidenceVerifier.builder(deviceRoot).rimStore(rims).revocation(revocation).build());
  }

  static OcspChecker.Mode ocspMode(String configured, boolean prod) {
    OcspChecker.Mode mode =
        switch (configured.toLowerCase(Locale.ROOT)) {
          case "fail-closed" -> OcspChecker.Mode.FAIL_CLOSED;
          case "grace" -> OcspChecker.Mode.GRACE;
          case "disabled" -> OcspChecker.Mode.DISABLED;
          default ->
              throw new IllegalStateException(
                  "unknown teekms.gpu.ocsp.mode '"
                      + configured
                      + "' (use fail-closed, grace or disabled)");
        };
    if (prod && mode == OcspChecker.Mode.DISABLED) {
      throw new IllegalStateException(
          "teekms.gpu.ocsp.mode=disabled is refused in the prod profile: a revoked GPU "
              + "or RIM signer would be accepted");
    }
    return mode;
  }

  private static RimStore directory(Path dir, X509Certificate rimRoot) {
    try {
      return RimStore.load(dir, rimRoot);
    } catch (java.io.IOException e) {
      throw new IllegalStateException("teekms.gpu.rim.directory " + dir + ": " + e.getMessage(), e);
    }
  }

  private static Rim simulatedRim(byte[] xml, X509Certificate rimRoot, String name) {
    try {
      return RimVerifier.verify(xml, rimRoot, name);
    } catch (org.teekms.attest.gpu.GpuAttestationException e) {
      throw new IllegalStateException(
          "simulated RIM " + name + " does not verify: " + e.getMessage(), e);
    }
  }

  private static X509Certificate pem(Path file, String key) {
    try {
      return CertChainValidator.parsePem(Files.readString(file)).get(0);
    } catch (Exception e) {
      throw new IllegalStateException(
          key + " " + file + ": not a PEM certificate: " + e.getMessage(), e);
    }
  }
}
