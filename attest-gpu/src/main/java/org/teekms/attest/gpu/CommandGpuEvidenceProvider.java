package org.teekms.attest.gpu;

import static org.teekms.attest.gpu.GpuAttestationException.Reason.MALFORMED_EVIDENCE;
import static org.teekms.attest.gpu.GpuAttestationException.Reason.NONCE_MISMATCH;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.teekms.crypto.Bytes;

/**
 * Real GPU evidence through the NVIDIA driver, via an external collector command (NVML cannot be
 * called from the JVM without native bindings). The command is run with every argument {@code
 * {nonce}} replaced by the nonce in hex, and the environment variable {@code TEEKMS_GPU_NONCE} set
 * to the same. It must exit 0 and print one JSON object on stdout:
 *
 * <pre>
 * {"architecture": "HOPPER",
 *  "gpus": [{"report": "&lt;hex: NVML attestation report&gt;", "certChain": "&lt;PEM, leaf first&gt;"}, ...]}
 * </pre>
 *
 * {@code ra-tls/tools/nvml_gpu_evidence.py} is such a collector: it calls NVML's {@code
 * nvmlDeviceGetConfComputeGpuAttestationReport} and {@code nvmlDeviceGetConfComputeGpuCertificate}
 * (nvidia-ml-py) for every GPU. Output is capped at {@link #MAX_OUTPUT_BYTES}; a timeout kills the
 * process. The provider checks the shape and that every report carries the requested nonce;
 * verification is the verifier's.
 */
public final class CommandGpuEvidenceProvider implements GpuEvidenceProvider {
  public static final int MAX_OUTPUT_BYTES = 2 * 1024 * 1024;
  public static final String NONCE_PLACEHOLDER = "{nonce}";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<String> command;
  private final Duration timeout;

  public CommandGpuEvidenceProvider(List<String> command, Duration timeout) {
    if (command.isEmpty()) {
      throw new IllegalArgumentException("empty collector command");
    }
    this.command = List.copyOf(command);
    this.timeout = timeout;
  }

  @Override
  public GpuEvidence collect(byte[] nonce) throws IOException, GpuAttestationException {
    if (nonce.length != HopperReportParser.NONCE_LENGTH) {
      throw new IllegalArgumentException("nonce must be 32 bytes");
    }
    String hex = HexFormat.of().formatHex(nonce);
    List<String> argv = command.stream().map(a -> a.replace(NONCE_PLACEHOLDER, hex)).toList();
    ProcessBuilder pb = new ProcessBuilder(argv);
    pb.environment().put("TEEKMS_GPU_NONCE", hex);
    Process p = pb.start();
    p.getOutputStream().close();
    CompletableFuture<byte[]> stdout =
        CompletableFuture.supplyAsync(() -> readCapped(p.getInputStream()));
    CompletableFuture<byte[]> stderr =
        CompletableFuture.supplyAsync(() -> readCapped(p.getErrorStream()));
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IOException(
            "GPU evidence collector " + argv.get(0) + " timed out after " + timeout);
      }
      byte[] out = stdout.get(5, TimeUnit.SECONDS);
      byte[] err = stderr.get(5, TimeUnit.SECONDS);
      if (p.exitValue() != 0) {
        String tail = new String(err, java.nio.charset.StandardCharsets.UTF_8);
        tail = tail.length() > 500 ? tail.substring(tail.length() - 500) : tail;
        throw new IOException(
            "GPU evidence collector "
                + argv.get(0)
                + " exited "
                + p.exitValue()
                + ": "
                + tail.strip());
      }
      if (out.length > MAX_OUTPUT_BYTES) {
        throw new GpuAttestationException(
            MALFORMED_EVIDENCE, "collector output exceeds " + MAX_OUTPUT_BYTES + " bytes");
      }
      return parseOutput(out, nonce);
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while collecting GPU evidence", e);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      p.destroyForcibly();
      throw new IOException("cannot read the collector output: " + e.getMessage(), e);
    }
  }

  /**
   * Parses the collector's JSON (also used by tests and the CLI) and checks each report's nonce.
   */
  static GpuEvidence parseOutput(byte[] json, byte[] nonce) throws GpuAttestationException {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException e) {
      throw new GpuAttestationException(
          MALFORMED_EVIDENCE, "collector output is not JSON: " + e.getMessage());
    }
    if (root == null
        || !root.isObject()
        || !root.path("architecture").isTextual()
        || !root.path("gpus").isArray()) {
      throw new GpuAttestationException(
          MALFORMED_EVIDENCE, "collector output needs {\"architecture\": string, \"gpus\": [...]}");
    }
    GpuArchitecture arch;
    try {
      arch = GpuArchitecture.parse(root.get("architecture").asText());
    } catch (IllegalArgumentException e) {
      throw new GpuAttestationException(MALFORMED_EVIDENCE, e.getMessage());
    }
    List<GpuEvidence.Device> devices = new ArrayList<>();
    for (JsonNode gpu : root.get("gpus")) {
      if (!gpu.path("report").isTextual() || !gpu.path("certChain").isTextual()) {
        throw new GpuAttestationException(
            MALFORMED_EVIDENCE,
            "GPU "
                + devices.size()
                + " needs string fields \"report\" (hex) and \"certChain\" (PEM)");
      }
      HopperReport report = HopperReportParser.parseHex(gpu.get("report").asText());
      if (!MessageDigest.isEqual(report.requestNonce().toByteArray(), nonce)) {
        throw new GpuAttestationException(
            NONCE_MISMATCH,
            "collector returned a report for another nonce on GPU " + devices.size());
      }
      byte[] raw = HexFormat.of().parseHex(gpu.get("report").asText().replaceAll("\\s+", ""));
      try {
        devices.add(
            new GpuEvidence.Device(
                Bytes.copyOf(raw),
                GpuEvidenceSupport.der(
                    CertChainValidator.parsePem(gpu.get("certChain").asText()))));
      } catch (java.security.cert.CertificateEncodingException e) {
        throw new GpuAttestationException(
            MALFORMED_EVIDENCE, "GPU " + devices.size() + " certificate: " + e.getMessage());
      }
    }
    try {
      return new GpuEvidence(arch, devices);
    } catch (IllegalArgumentException e) {
      throw new GpuAttestationException(MALFORMED_EVIDENCE, e.getMessage());
    }
  }

  private static byte[] readCapped(InputStream in) {
    try (in) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      int n;
      while ((n = in.read(buf)) > 0) {
        if (out.size() <= MAX_OUTPUT_BYTES) {
          out.write(
              buf, 0, n); // keep draining past the cap so the process never blocks on a full pipe
        }
      }
      return out.toByteArray();
    } catch (IOException e) {
      return new byte[0];
    }
  }
}
