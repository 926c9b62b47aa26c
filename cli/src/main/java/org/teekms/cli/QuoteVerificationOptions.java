package org.teekms.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.Pem;
import org.teekms.attest.tdx.collateral.CollateralDirectory;
import org.teekms.attest.tdx.collateral.CollateralException;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.attest.tdx.collateral.DcapQvlCollateralFile;
import org.teekms.attest.tdx.collateral.PcsCollateralClient;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The collateral, time and trust-anchor options shared by the commands that verify a DCAP quote.
 */
final class QuoteVerificationOptions {
  @Spec(Spec.Target.MIXEE)
  CommandSpec spec;

  @Option(
      names = "--collateral",
      paramLabel = "FILE|DIR",
      description = "dcap-qvl collateral JSON file, or a collateral directory (tcb_info.json, …).")
  Path collateral;

  @Option(
      names = "--pccs",
      paramLabel = "URL",
      description = "Fetch collateral from this Intel PCS / PCCS (v4 API).")
  String pccs;

  @Option(
      names = "--at",
      paramLabel = "TIME",
      description = "Verification time, ISO-8601 UTC (default: now).")
  String at;

  @Option(
      names = "--root-ca",
      paramLabel = "PEM",
      description = "Trust anchor (default: the bundled Intel SGX Root CA).")
  Path rootCa;

  /**
   * Collateral could not be loaded: the quote is then reported invalid (exit 1), not a usage error.
   */
  static final class CollateralLoadException extends Exception {
    private static final long serialVersionUID = 1L;

    CollateralLoadException(String message) {
      super(message);
    }
  }

  private static final String WHAT_COLLATERAL =
      "expected a dcap-qvl collateral JSON file (tcb_info, qe_identity, "
          + "their signatures and issuer chains, the CRLs) or a directory of them, as `teekms collateral fetch` writes";

  void requireOneCollateralSource() {
    if ((collateral == null) == (pccs == null)) {
      throw new ParameterException(
          spec.commandLine(), "give exactly one of --collateral or --pccs");
    }
  }

  CollateralSource source() throws CollateralLoadException {
    try {
      if (pccs != null) {
        PcsCollateralClient client = new PcsCollateralClient(pccs);
        java.io.PrintWriter err = spec.commandLine().getErr();
        return request -> {
          try (Waiting w =
              Waiting.start(err, spec.qualifiedName(), "fetching collateral from " + pccs)) {
            return client.fetch(request);
          }
        };
      }
      if (!Files.exists(collateral)) {
        throw new ParameterException(
            spec.commandLine(),
            "--collateral " + collateral + " does not exist: " + WHAT_COLLATERAL);
      }
      if (Files.isDirectory(collateral)) {
        return CollateralDirectory.load(collateral);
      }
      InputFiles.pemLabel(read(collateral, "--collateral"))
          .ifPresent(
              label -> {
                throw new ParameterException(
                    spec.commandLine(),
                    "--collateral "
                        + collateral
                        + " is "
                        + InputFiles.describePem(label)
                        + ", not collateral: "
                        + WHAT_COLLATERAL);
              });
      return DcapQvlCollateralFile.load(collateral);
    } catch (CollateralException e) {
      throw new CollateralLoadException(e.getMessage());
    }
  }

  Instant time() {
    if (at == null) {
      return Instant.now();
    }
    try {
      return Instant.parse(at);
    } catch (DateTimeParseException e) {
      throw new ParameterException(
          spec.commandLine(),
          "--at must be an ISO-8601 UTC time like " + "2025-07-19T10:00:34Z, got " + at);
    }
  }

  DcapQuoteVerifier verifier() {
    if (rootCa == null) {
      return DcapQuoteVerifier.withIntelRoot();
    }
    try {
      return new DcapQuoteVerifier(Pem.certificates(read(rootCa, "--root-ca")).get(0));
    } catch (CertificateException e) {
      throw new ParameterException(
          spec.commandLine(), "--root-ca " + rootCa + ": " + e.getMessage());
    }
  }

  byte[] read(Path file, String option) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new ParameterException(
          spec.commandLine(), option + " " + file + " cannot be read: " + e.getMessage());
    }
  }
}
