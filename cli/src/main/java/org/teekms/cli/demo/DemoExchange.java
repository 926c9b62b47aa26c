package org.teekms.cli.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Objects;
import org.teekms.attest.gpu.GpuSimulator;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.Pem;
import org.teekms.crypto.Bytes;

/**
 * The demo's signed exchange (step "Chat through the signing proxy"): one chat completion through a
 * CVM's signing proxy, its signature ({@code GET /v1/signature/{id}}) and an attestation report for
 * a fresh nonce ({@code GET /v1/attestation/report?nonce=…}), saved as a user would keep them, with
 * what a verifier needs, in one folder:
 *
 * <ul>
 *   <li>{@code request.json}, {@code response.json} (the exact bodies), {@code signature.json},
 *       {@code report.json} (as served);
 *   <li>the SIMULATED platform's roots: {@code simulated-root-ca.pem}, {@code collateral/}, {@code
 *       simulated-gpu-root.pem}, {@code simulated-rim-root.pem}, {@code simulated-rims/};
 *   <li>{@value #FILE}: all of it in one document ({@value #FORMAT}, docs/verifiable-inference.md
 *       §4.3), which is a valid {@code POST /verify/response} body as it stands (it names the app,
 *       whose on-chain policy is then the expected identity) and which the verifier page loads in
 *       one upload.
 * </ul>
 *
 * The tests of the verifier service and page run this same code against the demo's CVM (see {@code
 * DemoExchangeFixture}), so what they verify is what the demo writes.
 */
public final class DemoExchange {
  /** The one-document form of the exchange, in the exchange folder. */
  public static final String FILE = "signed-exchange.json";

  /** Its {@code format} field. */
  public static final String FORMAT = "tee-kms/signed-exchange/v1";

  /** The endpoint the demo chats with (what the v2 signed text names). */
  public static final String METHOD = "POST";

  public static final String PATH = "/v1/chat/completions";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HexFormat HEX = HexFormat.of();

  private DemoExchange() {}

  /**
   * Who a verifier should expect to have answered: the app's on-chain policy ({@code rpcUrl},
   * {@code chainId}, {@code registry}, {@code app}), and the same identity stated explicitly (the
   * compose hash, the OS image and its golden mrSystem, GPUs required).
   */
  public record Expected(
      String rpcUrl,
      long chainId,
      String registry,
      String app,
      Bytes composeHash,
      Bytes osImage,
      Bytes mrSystem,
      boolean requireGpu) {
    public Expected {
      Objects.requireNonNull(rpcUrl, "rpcUrl");
      Objects.requireNonNull(registry, "registry");
      Objects.requireNonNull(app, "app");
      Objects.requireNonNull(composeHash, "composeHash");
      Objects.requireNonNull(osImage, "osImage");
      Objects.requireNonNull(mrSystem, "mrSystem");
    }
  }

  /** The saved files and what the conversation established. */
  public record Saved(
      Path dir,
      Path manifest,
      Path request,
      Path response,
      Path signature,
      Path report,
      Path rootCa,
      Path collateral,
      Path gpuRoot,
      Path rimRoot,
      Path rims,
      String chatId,
      Bytes nonce) {}

  /**
   * Chats with the signing proxy at {@code proxy}, fetches the signature and a report for a fresh
   * nonce, and saves everything to {@code dir}.
   *
   * @param request the exact chat request body
   * @param tdx the (SIMULATED) TDX platform the CVM runs on: its root CA and collateral are saved
   * @param gpus the CVM's (SIMULATED) GPUs: their device root, RIM root and RIMs are saved
   * @throws IllegalStateException when the proxy answers anything but 200
   */
  public static Saved capture(
      HttpClient http,
      URI proxy,
      byte[] request,
      Path dir,
      Expected expected,
      SimulatedTdx tdx,
      GpuSimulator gpus)
      throws IOException, InterruptedException {
    Files.createDirectories(dir);
    HttpResponse<byte[]> response =
        http.send(
            HttpRequest.newBuilder(proxy.resolve(PATH))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(request))
                .timeout(Duration.ofSeconds(60))
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    expect(response, "chat completion");
    String chatId = JSON.readTree(response.body()).path("id").asText();
    HttpResponse<byte[]> signature =
        http.send(
            HttpRequest.newBuilder(proxy.resolve("/v1/signature/" + chatId))
                .timeout(Duration.ofSeconds(30))
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    expect(signature, "signature");
    byte[] nonce = new byte[32];
    new SecureRandom().nextBytes(nonce);
    HttpResponse<byte[]> report =
        http.send(
            HttpRequest.newBuilder(
                    proxy.resolve("/v1/attestation/report?nonce=" + HEX.formatHex(nonce)))
                .timeout(Duration.ofSeconds(60))
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    expect(report, "attestation report");

    Path requestFile = Files.write(dir.resolve("request.json"), request);
    Path responseFile = Files.write(dir.resolve("response.json"), response.body());
    Path signatureFile = Files.write(dir.resolve("signature.json"), signature.body());
    Path reportFile = Files.write(dir.resolve("report.json"), report.body());
    Path rootCa = Files.writeString(dir.resolve("simulated-root-ca.pem"), tdx.rootCertificatePem());
    Path collateral = tdx.collateral().writeTo(dir.resolve("collateral"));
    Path gpuRoot =
        Files.writeString(dir.resolve("simulated-gpu-root.pem"), Pem.encode(gpus.deviceRoot()));
    Path rimRoot =
        Files.writeString(dir.resolve("simulated-rim-root.pem"), Pem.encode(gpus.rimRoot()));
    Path rims = dir.resolve("simulated-rims");
    gpus.writeRims(rims);

    ObjectNode m = JSON.createObjectNode();
    m.put("format", FORMAT);
    m.put("simulated", true);
    m.put("method", METHOD);
    m.put("path", PATH);
    exactBody(m, "request", request);
    exactBody(m, "response", response.body());
    m.set("signature", JSON.readTree(signature.body()));
    m.set("report", JSON.readTree(report.body()));
    m.put("nonce", HEX.formatHex(nonce));
    m.put("app", expected.app());
    m.putObject("chain")
        .put("rpcUrl", expected.rpcUrl())
        .put("chainId", expected.chainId())
        .put("registry", expected.registry());
    ObjectNode explicit = m.putObject("explicit");
    explicit.put("app", expected.app());
    explicit.put("composeHash", expected.composeHash().hex());
    explicit.put("osImage", expected.osImage().hex());
    explicit.putArray("mrSystems").add(expected.mrSystem().hex());
    explicit.put("requireGpu", expected.requireGpu());
    ObjectNode trust = m.putObject("trust");
    trust.put("rootCa", rootCa.getFileName().toString());
    trust.put("collateral", collateral.getFileName().toString());
    trust.put("gpuRoot", gpuRoot.getFileName().toString());
    trust.put("rimRoot", rimRoot.getFileName().toString());
    trust.put("rims", rims.getFileName().toString());
    ObjectNode files = m.putObject("files");
    files.put("request", requestFile.getFileName().toString());
    files.put("response", responseFile.getFileName().toString());
    files.put("signature", signatureFile.getFileName().toString());
    files.put("report", reportFile.getFileName().toString());
    Path manifest =
        Files.write(dir.resolve(FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(m));
    return new Saved(
        dir,
        manifest,
        requestFile,
        responseFile,
        signatureFile,
        reportFile,
        rootCa,
        collateral,
        gpuRoot,
        rimRoot,
        rims,
        chatId,
        Bytes.copyOf(nonce));
  }

  /**
   * A body that must keep its exact bytes: as a string when it is UTF-8 (what the demo's JSON
   * bodies are), else as {@code field + "Base64"}.
   */
  static void exactBody(ObjectNode m, String field, byte[] body) {
    try {
      String text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(body))
              .toString();
      m.put(field, text);
    } catch (CharacterCodingException notUtf8) {
      m.put(field + "Base64", Base64.getEncoder().encodeToString(body));
    }
  }

  /** The manifest as JSON (what a test posts or uploads). */
  public static JsonNode read(Path manifest) throws IOException {
    return JSON.readTree(Files.readAllBytes(manifest));
  }

  private static void expect(HttpResponse<byte[]> r, String what) {
    if (r.statusCode() != 200) {
      throw new IllegalStateException(
          what
              + ": HTTP "
              + r.statusCode()
              + " "
              + clip(new String(r.body(), StandardCharsets.UTF_8)));
    }
  }

  /** A proxy's error body in one line of at most 300 characters. */
  private static String clip(String body) {
    String one = body.replaceAll("[\\r\\n]+", " ");
    return one.length() > 300 ? one.substring(0, 300) + "…" : one;
  }
}
