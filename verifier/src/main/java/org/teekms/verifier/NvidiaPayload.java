package org.teekms.verifier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import org.teekms.attest.gpu.GpuArchitecture;
import org.teekms.attest.gpu.GpuEvidence;
import org.teekms.attest.tdx.Pem;
import org.teekms.crypto.Bytes;

/**
 * The {@code nvidia_payload} of an attestation report, in the shape NVIDIA's local GPU verifier
 * takes (and the verifiable-inference services publish): a JSON text {@code {"nonce": hex(32
 * bytes), "arch": "HOPPER", "evidence_list": [{"evidence": base64(report), "certificate":
 * base64(PEM chain, leaf first), "arch": "HOPPER"}, …]}}.
 */
public record NvidiaPayload(Bytes nonce, GpuEvidence evidence) {
  public static final int MAX_CHARS = 2 * 1024 * 1024;
  private static final ObjectMapper JSON = new ObjectMapper();

  public NvidiaPayload {
    Objects.requireNonNull(nonce, "nonce");
    Objects.requireNonNull(evidence, "evidence");
  }

  public String encode() {
    ObjectNode o = JSON.createObjectNode();
    o.put("nonce", nonce.hex());
    o.put("arch", evidence.architecture().name());
    ArrayNode list = o.putArray("evidence_list");
    Base64.Encoder b64 = Base64.getEncoder();
    for (GpuEvidence.Device d : evidence.gpus()) {
      StringBuilder pem = new StringBuilder();
      for (Bytes der : d.certChain()) {
        pem.append(Pem.encode("CERTIFICATE", der.toByteArray()));
      }
      ObjectNode e = list.addObject();
      e.put("evidence", b64.encodeToString(d.report().toByteArray()));
      e.put("certificate", b64.encodeToString(pem.toString().getBytes(StandardCharsets.US_ASCII)));
      e.put("arch", evidence.architecture().name());
    }
    return o.toString();
  }

  /** Strict decoding; anything malformed is an {@link IllegalArgumentException} that says what. */
  public static NvidiaPayload decode(String text) {
    if (text == null || text.length() > MAX_CHARS) {
      throw new IllegalArgumentException(
          "nvidia_payload is missing or over " + MAX_CHARS + " characters");
    }
    JsonNode o;
    try {
      o = JSON.readTree(text);
    } catch (IOException e) {
      throw new IllegalArgumentException("nvidia_payload is not JSON");
    }
    if (o == null
        || !o.isObject()
        || !o.path("nonce").isTextual()
        || !o.path("arch").isTextual()
        || !o.path("evidence_list").isArray()) {
      throw new IllegalArgumentException("nvidia_payload needs nonce, arch and evidence_list");
    }
    byte[] nonce = HexFormat.of().parseHex(o.get("nonce").asText());
    if (nonce.length != 32) {
      throw new IllegalArgumentException("nvidia_payload nonce must be 32 bytes");
    }
    GpuArchitecture arch = GpuArchitecture.valueOf(o.get("arch").asText());
    List<GpuEvidence.Device> devices = new ArrayList<>();
    for (JsonNode e : o.get("evidence_list")) {
      if (!e.path("evidence").isTextual()
          || !e.path("certificate").isTextual()
          || !arch.name().equals(e.path("arch").asText(arch.name()))) {
        throw new IllegalArgumentException(
            "evidence_list entries need evidence, certificate and the same arch");
      }
      byte[] report = Base64.getDecoder().decode(e.get("evidence").asText());
      byte[] pem = Base64.getDecoder().decode(e.get("certificate").asText());
      List<Bytes> chain = new ArrayList<>();
      try {
        for (var c :
            CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(pem))) {
          chain.add(Bytes.copyOf(((X509Certificate) c).getEncoded()));
        }
      } catch (CertificateException ex) {
        throw new IllegalArgumentException(
            "evidence_list certificate is not a PEM chain: " + ex.getMessage());
      }
      devices.add(new GpuEvidence.Device(Bytes.copyOf(report), chain));
    }
    return new NvidiaPayload(Bytes.copyOf(nonce), new GpuEvidence(arch, devices));
  }
}
