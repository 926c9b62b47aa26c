package org.teekms.cli;

import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import org.teekms.attest.gpu.GpuEvidenceVerifier;
import org.teekms.attest.gpu.OcspChecker;
import org.teekms.attest.gpu.RevocationChecker;
import org.teekms.attest.gpu.RimStore;
import org.teekms.attest.tdx.Pem;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * How GPU evidence is verified by {@code verify response} and {@code verifier serve}: the device
 * identity root, the RIM store to compare measurements with, and whether OCSP is asked.
 */
public final class GpuVerifierOptions {

  @Option(
      names = "--gpu-root",
      paramLabel = "PEM",
      description = "GPU device identity root (default: NVIDIA's Device Identity CA).")
  Path gpuRoot;

  @Option(
      names = "--rims",
      paramLabel = "DIR",
      description = "RIM store to compare GPU measurements with.")
  Path rims;

  @Option(names = "--rim-root", paramLabel = "PEM", description = "RIM signing root for --rims.")
  Path rimRoot;

  @Option(names = "--no-ocsp", description = "Skip OCSP revocation checks of the GPU chains.")
  boolean noOcsp;

  /** The verifier these options describe; a missing or unreadable file is a usage error. */
  GpuEvidenceVerifier verifier(CommandSpec spec, QuoteVerificationOptions files) throws Exception {
    GpuEvidenceVerifier.Builder b =
        gpuRoot == null
            ? GpuEvidenceVerifier.nvidia()
            : GpuEvidenceVerifier.builder(certificate(spec, files, gpuRoot, "--gpu-root"));
    b.revocation(
        noOcsp ? RevocationChecker.disabled() : new OcspChecker(OcspChecker.Config.defaults()));
    if (rims != null) {
      if (rimRoot == null) {
        throw new ParameterException(spec.commandLine(), "--rims needs --rim-root");
      }
      b.rimStore(RimStore.load(rims, certificate(spec, files, rimRoot, "--rim-root")));
    }
    return b.build();
  }

  private static X509Certificate certificate(
      CommandSpec spec, QuoteVerificationOptions files, Path file, String option) {
    try {
      return Pem.certificates(files.read(file, option)).get(0);
    } catch (CertificateException | RuntimeException e) {
      throw new ParameterException(
          spec.commandLine(), option + " " + file + ": not a PEM certificate");
    }
  }
}
