package org.teekms.attest.gpu;

import static org.teekms.attest.gpu.GpuAttestationException.Reason.RIM_INVALID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import org.teekms.crypto.Digests;

/**
 * Fetches RIMs by id from NVIDIA's RIM service ({@code GET <base>/<id>}, e.g. {@code
 * https://rim.attestation.nvidia.com/v1/rim/NV_GPU_DRIVER_GH100_550.90.07}). The answer is JSON
 * with the RIM base64-encoded in {@code rim} and its SHA-256 in {@code sha256}; the digest must
 * match. The RIM's own XML signature and signer chain are checked by the caller ({@link RimStore}),
 * so the service is not trusted for content, only for availability. 404 = no such RIM; anything
 * else that is not a well-formed answer is an error (fail closed).
 */
public final class NvidiaRimService implements RimStore.Fetcher {
  /**
   * Bounded answer: a RIM is at most {@link RimVerifier#MAX_RIM_BYTES}, base64 and JSON add about a
   * third.
   */
  static final int MAX_ANSWER_BYTES = RimVerifier.MAX_RIM_BYTES * 2;

  private static final Pattern RIM_ID = Pattern.compile("[A-Za-z0-9_.\\-]{1,128}");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final URI base;
  private final Duration timeout;
  private final HttpClient http;

  public NvidiaRimService(URI base, Duration timeout) {
    this.base = Objects.requireNonNull(base, "base");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(timeout)
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  @Override
  public Optional<byte[]> fetch(String rimId) throws GpuAttestationException {
    if (!RIM_ID.matcher(rimId).matches()) {
      throw new GpuAttestationException(RIM_INVALID, "not a RIM id: " + rimId);
    }
    String b = base.toString();
    URI uri = URI.create(b.endsWith("/") ? b + rimId : b + "/" + rimId);
    HttpResponse<InputStream> response;
    byte[] body;
    try {
      response =
          http.send(
              HttpRequest.newBuilder(uri)
                  .timeout(timeout)
                  .header("Accept", "application/json")
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofInputStream());
      try (InputStream in = response.body()) {
        body = in.readNBytes(MAX_ANSWER_BYTES + 1);
      }
    } catch (IOException e) {
      throw new GpuAttestationException(
          RIM_INVALID, "RIM service " + uri + " unreachable: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new GpuAttestationException(RIM_INVALID, "interrupted while fetching " + uri);
    }
    if (response.statusCode() == 404) {
      return Optional.empty();
    }
    if (response.statusCode() != 200) {
      throw new GpuAttestationException(
          RIM_INVALID, "RIM service " + uri + " answered HTTP " + response.statusCode());
    }
    return Optional.of(parse(body, rimId));
  }

  /** The RIM bytes of a service answer, checked against its {@code id} and {@code sha256}. */
  static byte[] parse(byte[] body, String rimId) throws GpuAttestationException {
    if (body.length > MAX_ANSWER_BYTES) {
      throw new GpuAttestationException(
          RIM_INVALID,
          "RIM service answer for " + rimId + " exceeds " + MAX_ANSWER_BYTES + " bytes");
    }
    try {
      JsonNode o = JSON.readTree(body);
      if (o == null
          || !o.isObject()
          || !o.path("rim").isTextual()
          || !o.path("sha256").isTextual()) {
        throw new GpuAttestationException(
            RIM_INVALID, "RIM service answer for " + rimId + " lacks rim/sha256");
      }
      if (o.has("id") && !rimId.equals(o.get("id").asText())) {
        throw new GpuAttestationException(
            RIM_INVALID, "RIM service answered " + o.get("id").asText() + " for " + rimId);
      }
      byte[] rim = Base64.getDecoder().decode(o.get("rim").asText());
      byte[] digest = Digests.sha256(rim);
      if (!MessageDigest.isEqual(
          digest, HexFormat.of().parseHex(o.get("sha256").asText().toLowerCase()))) {
        throw new GpuAttestationException(
            RIM_INVALID, "RIM " + rimId + " does not match the sha256 of the answer");
      }
      return rim;
    } catch (GpuAttestationException e) {
      throw e;
    } catch (IOException | IllegalArgumentException e) {
      throw new GpuAttestationException(
          RIM_INVALID, "malformed RIM service answer for " + rimId + ": " + e.getMessage());
    }
  }
}
