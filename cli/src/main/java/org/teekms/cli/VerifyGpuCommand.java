package org.teekms.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import org.teekms.attest.gpu.CertChainValidator;
import org.teekms.attest.gpu.GpuAttestationException;
import org.teekms.attest.gpu.GpuEvidenceVerifier;
import org.teekms.attest.gpu.GpuResult;
import org.teekms.attest.gpu.NvidiaRoots;
import org.teekms.attest.gpu.OcspChecker;
import org.teekms.attest.gpu.OcspResult;
import org.teekms.attest.gpu.RevocationChecker;
import org.teekms.attest.gpu.RimStore;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code teekms verify gpu}: verify one NVIDIA Hopper attestation report and print one JSON object.
 */
@Command(
    name = "gpu",
    mixinStandardHelpOptions = true,
    description = {
      "Verify an NVIDIA Hopper GPU attestation report: signature, device chain to the NVIDIA Device "
          + "Identity CA, nonce, FWID, OCSP and (with --rims) measurements against RIMs.",
      "Exit 0 valid, 1 invalid, 2 usage error."
    })
public final class VerifyGpuCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--report",
      required = true,
      paramLabel = "FILE",
      description = "Attestation report: hex text (as nvtrust's samples) or raw bytes.")
  Path report;

  @Option(
      names = "--cert-chain",
      required = true,
      paramLabel = "FILE",
      description = "Attestation key certificate chain, PEM, leaf first.")
  Path certChain;

  @Option(
      names = "--nonce",
      required = true,
      paramLabel = "HEX",
      description = "The expected 32-byte nonce, hex.")
  String nonceHex;

  @Option(
      names = "--rims",
      paramLabel = "DIR",
      description = "Directory of RIMs (*.swidtag) to compare measurements.")
  Path rims;

  @Option(
      names = "--at",
      paramLabel = "TIME",
      description =
          "Verification time, ISO-8601 instant (default: now). Certificate and OCSP validity use it.")
  String at;

  @Option(
      names = "--device-root",
      paramLabel = "FILE",
      description = "Device identity trust anchor, PEM (default: the NVIDIA Device Identity CA).")
  Path deviceRoot;

  @Option(
      names = "--rim-root",
      paramLabel = "FILE",
      description = "RIM signing trust anchor, PEM (default: the NVIDIA CoRIM signing Root CA).")
  Path rimRoot;

  @ArgGroup(exclusive = true)
  Revocation revocation;

  static final class Revocation {
    @Option(
        names = "--ocsp",
        paramLabel = "URL",
        description = "OCSP responder (default " + OcspChecker.NVIDIA_OCSP + ").")
    URI responder;

    @Option(names = "--no-ocsp", description = "Skip revocation checking (reported as skipped).")
    boolean disabled;
  }

  @Option(
      names = "--ocsp-grace",
      description =
          "Accept an unreachable OCSP responder (reported as unavailable); revoked/unknown still fail.")
  boolean grace;

  @Override
  public Integer call() {
    byte[] nonce = parseNonce();
    Instant when = parseTime();
    byte[] reportBytes = readReport();
    List<X509Certificate> chain = readPem(certChain, "--cert-chain");
    X509Certificate device =
        deviceRoot == null
            ? NvidiaRoots.deviceIdentityCa()
            : readPem(deviceRoot, "--device-root").get(0);
    X509Certificate rimAnchor =
        rimRoot == null ? NvidiaRoots.rimSigningRootCa() : readPem(rimRoot, "--rim-root").get(0);

    GpuEvidenceVerifier.Builder builder =
        GpuEvidenceVerifier.builder(device).revocation(revocationChecker());
    if (rims != null) {
      if (!Files.isDirectory(rims)) {
        throw new ParameterException(spec.commandLine(), "--rims " + rims + " is not a directory");
      }
      try {
        builder.rimStore(RimStore.load(rims, rimAnchor));
      } catch (IOException e) {
        throw new ParameterException(
            spec.commandLine(), "cannot read --rims " + rims + ": " + e.getMessage());
      }
    }
    GpuResult result = builder.build().verifyDevice(reportBytes, chain, null, nonce, when);
    print(result);
    return result.valid() ? 0 : 1;
  }

  private RevocationChecker revocationChecker() {
    if (revocation != null && revocation.disabled) {
      return RevocationChecker.disabled();
    }
    OcspChecker.Config config = OcspChecker.Config.defaults();
    if (revocation != null && revocation.responder != null) {
      config = config.withResponder(revocation.responder);
    }
    return new OcspChecker(grace ? config.withMode(OcspChecker.Mode.GRACE) : config);
  }

  private void print(GpuResult r) {
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode out = json.createObjectNode();
    out.put("valid", r.valid());
    out.put("arch", r.arch() == null ? null : r.arch().name());
    out.put("driverVersion", r.driverVersion());
    out.put("vbiosVersion", r.vbiosVersion());
    ObjectNode m = out.putObject("measurements");
    m.put("matched", r.measurements().matched());
    m.put("status", r.measurements().status().name());
    ArrayNode idx = m.putArray("mismatchedIndexes");
    r.measurements().mismatchedIndexes().forEach(idx::add);
    m.put("compared", r.measurements().compared());
    m.put("driverRim", r.measurements().driverRim());
    m.put("vbiosRim", r.measurements().vbiosRim());
    ObjectNode o = out.putObject("ocsp");
    o.put("status", r.ocsp().summary());
    o.put("mode", r.ocsp().mode().name());
    ArrayNode certs = o.putArray("certificates");
    for (OcspResult.CertStatus c : r.ocsp().certificates()) {
      certs
          .addObject()
          .put("subject", c.subject())
          .put("serial", c.serialHex())
          .put("status", c.status().name())
          .put("detail", c.detail());
    }
    out.put("deviceId", r.deviceId());
    out.put("simulated", r.simulated());
    out.put("failure", r.failure() == null ? null : r.failure().name());
    out.put("error", r.error());
    try {
      spec.commandLine().getOut().println(json.writeValueAsString(out));
      spec.commandLine().getOut().flush();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private byte[] parseNonce() {
    try {
      byte[] n =
          HexFormat.of().parseHex(nonceHex.startsWith("0x") ? nonceHex.substring(2) : nonceHex);
      if (n.length == 32) {
        return n;
      }
    } catch (IllegalArgumentException ignored) {
      // reported below
    }
    throw new ParameterException(
        spec.commandLine(), "--nonce must be 32 bytes of hex (64 hex digits)");
  }

  private Instant parseTime() {
    if (at == null) {
      return Instant.now();
    }
    try {
      return Instant.parse(at);
    } catch (DateTimeParseException e) {
      throw new ParameterException(
          spec.commandLine(), "--at must be an ISO-8601 instant like 2024-01-01T00:00:00Z");
    }
  }

  private byte[] readReport() {
    byte[] raw = read(report, "--report");
    String text = new String(raw, StandardCharsets.ISO_8859_1).strip();
    if (!text.isEmpty() && text.replaceFirst("^0[xX]", "").matches("[0-9a-fA-F\\s]+")) {
      String hex = text.replaceFirst("^0[xX]", "").replaceAll("\\s+", "");
      if (hex.length() % 2 == 0) {
        return HexFormat.of().parseHex(hex);
      }
    }
    return raw;
  }

  private List<X509Certificate> readPem(Path file, String option) {
    try {
      return CertChainValidator.parsePem(new String(read(file, option), StandardCharsets.US_ASCII));
    } catch (GpuAttestationException e) {
      throw new ParameterException(spec.commandLine(), option + " " + file + ": " + e.detail());
    }
  }

  private byte[] read(Path file, String option) {
    try {
      if (Files.size(file) > 4 * 1024 * 1024) {
        throw new ParameterException(
            spec.commandLine(), option + " " + file + " is larger than 4 MiB");
      }
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new ParameterException(
          spec.commandLine(), "cannot read " + option + " " + file + ": " + e.getMessage());
    }
  }
}
