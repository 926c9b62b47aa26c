package org.teekms.agent.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.Provider;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.teekms.agent.HexField;
import org.teekms.agent.RunningAgent;
import org.teekms.agent.boot.BootFailure;
import org.teekms.agent.keys.AgentKeys;
import org.teekms.attest.eventlog.DstackAttestation;
import org.teekms.attest.eventlog.DstackEventLogCodec;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.eventlog.EventLogException;
import org.teekms.attest.eventlog.EventLogVerifier;
import org.teekms.attest.eventlog.QuotedMeasurements;
import org.teekms.attest.eventlog.VerifiedEventLog;
import org.teekms.attest.provider.QuoteProviderException;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.ratls.RaTlsCertificateFactory;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.attest.tdx.Pem;
import org.teekms.attest.tdx.QuoteParseException;
import org.teekms.attest.tdx.TdReport;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.crypto.BouncyCastle;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.KeyAlgorithm;
import org.teekms.keys.Secp256k1SigningKey;
import org.teekms.keys.SignatureChain;
import org.teekms.keys.SigningKey;
import org.teekms.proto.SignCertRequest;
import org.teekms.proto.SignCertResponse;

/**
 * The dstack-compatible guest API (paths, field names and hex encodings as dstack's guest agent
 * serves them and {@code @phala/dstack-sdk} reads them), independent of the transport: {@link
 * #handle} maps a path and a JSON body to a JSON answer. Keys are derived locally from the app root
 * secret (docs/key-derivation.md); see guest-agent/README.md for the mapping of dstack's {@code
 * path}/{@code purpose}/{@code algorithm} onto our derivation context.
 */
public final class GuestApi implements JsonApi {
  public static final String VERSION = "0.5.8-teekms-0.1.0";

  /** Path of the key {@code /Sign} uses (purpose {@code signing}), per algorithm. */
  public static final String SIGN_KEY_PATH = "dstack/sign";

  static final ObjectMapper JSON = new ObjectMapper();
  public static final ObjectMapper JSON_MAPPER = JSON;

  private final RunningAgent agent;

  public GuestApi(RunningAgent agent) {
    this.agent = agent;
  }

  /**
   * @param method e.g. "GetKey" (the path without its leading slash)
   */
  @Override
  public ObjectNode handle(String method, JsonNode body) throws ApiException {
    if (body == null || body.isNull() || body.isMissingNode()) {
      body = JSON.createObjectNode();
    }
    if (!body.isObject()) {
      throw new ApiException(400, "request body must be a JSON object");
    }
    try {
      return switch (method) {
        case "GetKey" -> getKey(body);
        case "GetQuote" -> getQuote(body);
        case "Attest" -> attest(body);
        case "Info" -> info();
        case "GetTlsKey" -> getTlsKey(body);
        case "Sign" -> sign(body);
        case "Verify" -> verify(body);
        case "Version" -> version();
        case "EmitEvent" -> emitEvent(body);
        default -> throw new ApiException(404, "no such method: " + method);
      };
    } catch (IllegalArgumentException e) {
      throw new ApiException(400, e.getMessage());
    }
  }

  // ---- EmitEvent
  // -------------------------------------------------------------------------------------------------

  /** Longest app event payload accepted (bytes). */
  public static final int MAX_EVENT_PAYLOAD = 16 * 1024;

  private static final java.util.regex.Pattern EVENT_NAME =
      java.util.regex.Pattern.compile("[A-Za-z0-9._:/-]{1,128}");

  /**
   * dstack's {@code EmitEvent}: the app extends RTMR3 with its own named event (recorded in the
   * runtime event log that quotes carry and verifiers replay). Refused: names the boot sequence
   * reserves ({@link org.teekms.attest.eventlog.DstackBootSequence#RESERVED}, {@code gpu-evidence})
   * — an app must not forge identity events — names outside {@code [A-Za-z0-9._:/-]{1,128}},
   * payloads over {@link #MAX_EVENT_PAYLOAD} bytes.
   */
  private ObjectNode emitEvent(JsonNode body) throws ApiException {
    String event = body.path("event").asText("");
    if (!body.path("event").isTextual() || !EVENT_NAME.matcher(event).matches()) {
      throw new ApiException(400, "event must be 1..128 characters of [A-Za-z0-9._:/-]");
    }
    if (org.teekms.attest.eventlog.DstackBootSequence.RESERVED.contains(event)
        || event.equals(org.teekms.attest.eventlog.DstackBootSequence.GPU_EVIDENCE)) {
      throw new ApiException(400, "event name '" + event + "' is reserved for the boot sequence");
    }
    String hex = body.path("payload").asText("");
    if (hex.length() > 2 * MAX_EVENT_PAYLOAD) {
      throw new ApiException(413, "payload longer than " + MAX_EVENT_PAYLOAD + " bytes");
    }
    byte[] payload = HexField.parse("payload", hex, -1);
    try {
      agent.eventLog().emit(event, payload);
    } catch (org.teekms.attest.provider.QuoteProviderException e) {
      throw new ApiException(500, "extending RTMR3 failed: " + e.getMessage());
    }
    return JSON.createObjectNode();
  }

  // ---- GetKey
  // ----------------------------------------------------------------------------------------------------

  /**
   * The derivation path of a dstack {@code (purpose, path)}: {@code "dstack:" ‖ len(purpose) ‖ ":"
   * ‖ purpose ‖ path} (length in decimal UTF-8 bytes), so no two (purpose, path) pairs share a
   * context.
   */
  public static String derivationPath(String purpose, String path) {
    return "dstack:" + purpose.getBytes(StandardCharsets.UTF_8).length + ":" + purpose + path;
  }

  static KeyAlgorithm algorithm(String name) {
    return switch (name) {
      case "", "secp256k1", "k256" -> KeyAlgorithm.SECP256K1;
      case "ed25519" -> KeyAlgorithm.ED25519;
      case "p256" -> KeyAlgorithm.P256;
      default -> throw new IllegalArgumentException("unsupported algorithm: " + name);
    };
  }

  private ObjectNode getKey(JsonNode body) {
    String path = text(body, "path");
    String purpose = text(body, "purpose");
    KeyAlgorithm alg = algorithm(text(body, "algorithm"));
    AgentKeys keys = agent.keys();
    try (DerivedKey key = keys.current().deriver().userKey(alg, derivationPath(purpose, path))) {
      SignatureChain chain = keys.chainOf(key);
      ObjectNode out = JSON.createObjectNode();
      out.put("key", HexField.hex(key.privateKeyBytes(InsecureSecretAccess.get())));
      putChain(out, chain);
      out.put("public_key", HexField.hex(key.publicKey()));
      out.put("algorithm", alg.label());
      out.put("derivation_path", derivationPath(purpose, path));
      putChainContext(out, keys);
      return out;
    }
  }

  private static void putChain(ObjectNode out, SignatureChain chain) {
    ArrayNode sigs = out.putArray("signature_chain");
    sigs.add(HexField.hex(chain.key().appRootSignature().toBytes()));
    sigs.add(HexField.hex(chain.appRoot().kmsSignature().toBytes()));
  }

  private static void putChainContext(ObjectNode out, AgentKeys keys) {
    out.put("app_root_public_key", keys.current().appRootCertificate().appRootPublicKey().hex());
    out.put("root_generation", keys.current().generation());
    out.put("key_version", keys.currentVersion());
    out.put("kms_root_address", keys.kmsRootAddress().toChecksumString());
  }

  // ---- GetQuote / Info
  // ------------------------------------------------------------------------------------------

  private ObjectNode getQuote(JsonNode body) throws ApiException {
    byte[] reportData = reportData(body);
    RuntimeEventLog.QuoteWithLog q = quote(reportData);
    ObjectNode out = JSON.createObjectNode();
    out.put("quote", HexField.hex(q.quote().toByteArray()));
    out.put("event_log", q.eventLogJson());
    out.put("report_data", HexField.hex(reportData));
    out.put("vm_config", vmConfig());
    return out;
  }

  /** dstack pads report data shorter than 64 bytes with zeros on the right; longer is refused. */
  private static byte[] reportData(JsonNode body) {
    String hex = text(body, "report_data");
    if (hex.length() > 2 * 64 + 2) {
      throw new IllegalArgumentException(
          "report_data is " + hex.length() + " hex digits (at most 64 bytes)");
    }
    byte[] given = HexField.parse("report_data", hex, -1);
    if (given.length > 64) {
      throw new IllegalArgumentException("report_data is " + given.length + " bytes (at most 64)");
    }
    return Arrays.copyOf(given, 64);
  }

  /**
   * dstack's {@code Attest} ({@code @phala/dstack-sdk} {@code attest(reportData)}): one
   * self-contained blob, dstack's {@code VersionedAttestation::V0} (SCALE) with the quote over the
   * padded report data, the full event log, the RTMR3 runtime events, the report data and the
   * {@code vm_config} JSON ({@link DstackAttestation}, docs/guest-api.md).
   */
  private ObjectNode attest(JsonNode body) throws ApiException {
    byte[] reportData = reportData(body);
    RuntimeEventLog.QuoteWithLog q = quote(reportData);
    List<EventLogEntry> log;
    try {
      log = DstackEventLogCodec.parse(q.eventLogJson());
    } catch (EventLogException e) {
      throw new ApiException(500, "own event log does not parse: " + e.getMessage());
    }
    ObjectNode out = JSON.createObjectNode();
    out.put(
        "attestation",
        HexField.hex(
            DstackAttestation.of(q.quote().toByteArray(), log, reportData, vmConfig()).encode()));
    return out;
  }

  private RuntimeEventLog.QuoteWithLog quote(byte[] reportData) throws ApiException {
    try {
      return agent.quote(reportData);
    } catch (QuoteProviderException e) {
      throw new ApiException(500, "quote failed: " + e.getMessage());
    }
  }

  private String vmConfig() {
    return "{\"os_image_hash\":\"" + agent.identity().osImageHash().hex() + "\"}";
  }

  /** dstack's Info (and the {@code info} of the signing proxy's attestation report). */
  public ObjectNode info() throws ApiException {
    RuntimeEventLog.QuoteWithLog q = quote(new byte[64]);
    TdReport td;
    VerifiedEventLog log;
    try {
      td = TdxQuote.parse(q.quote().toByteArray()).tdReport();
      log =
          EventLogVerifier.verify(
              DstackEventLogCodec.parse(q.eventLogJson()), QuotedMeasurements.of(td));
    } catch (QuoteParseException | EventLogException | RuntimeException e) {
      throw new ApiException(500, "own quote or event log does not verify: " + e.getMessage());
    }
    var id = agent.identity();
    String appId = id.appId().toHex();
    String composeHash = HexField.hex(id.compose().composeHash().toByteArray());
    ObjectNode tcb = JSON.createObjectNode();
    tcb.put("mrtd", td.mrTd().hex());
    for (int i = 0; i < 4; i++) {
      tcb.put("rtmr" + i, td.rtmr(i).hex());
    }
    tcb.put("mr_aggregated", log.mrAggregated().hex());
    tcb.put("os_image_hash", id.osImageHash().hex());
    tcb.put("compose_hash", composeHash);
    tcb.put("device_id", "");
    tcb.put("app_compose", id.compose().text());
    try {
      tcb.set("event_log", JSON.readTree(q.eventLogJson()));
    } catch (IOException e) {
      throw new ApiException(500, "event log is not JSON");
    }
    ObjectNode out = JSON.createObjectNode();
    out.put("app_id", appId);
    out.put("instance_id", id.instanceId().toHex());
    out.put("app_cert", Pem.encode(agent.credentials().certificate()));
    out.put("tcb_info", tcb.toString());
    out.put("app_name", id.compose().name());
    out.put("device_id", "");
    out.put("mr_aggregated", log.mrAggregated().hex());
    out.put("os_image_hash", id.osImageHash().hex());
    out.put("key_provider_info", id.compose().keyProviderJson());
    out.put("compose_hash", composeHash);
    out.put("vm_config", vmConfig());
    ObjectNode kms = out.putObject("kms");
    AgentKeys keys = agent.keys();
    kms.put("root_address", keys.kmsRootAddress().toChecksumString());
    kms.put("key_version", keys.currentVersion());
    kms.put("min_key_version", keys.minVersion());
    kms.put("root_generation", keys.current().generation());
    kms.put("grant_id", keys.grantId());
    kms.put("pinned", id.compose().pinnedKmsRoot().isPresent());
    agent
        .kmsIdentity()
        .ifPresent(
            (RaTlsIdentity k) -> {
              kms.put("app_id", k.appId().hex());
              kms.put("compose_hash", k.composeHash().hex());
              kms.put("mr_aggregated", k.mrAggregated().hex());
              kms.put("tcb_status", k.tcbStatus().toString());
            });
    return out;
  }

  // ---- GetTlsKey
  // -------------------------------------------------------------------------------------------------

  private ObjectNode getTlsKey(JsonNode body) throws ApiException {
    if (body.path("usage_ra_tls").asBoolean(false)) {
      throw new ApiException(
          400, "usage_ra_tls is not supported: the agent's RA-TLS certificate is Info.app_cert");
    }
    List<String> altNames = new java.util.ArrayList<>();
    JsonNode alt = body.get("alt_names");
    if (alt != null && !alt.isNull()) {
      if (!alt.isArray()) {
        throw new IllegalArgumentException("alt_names must be an array of strings");
      }
      alt.forEach(n -> altNames.add(n.asText()));
    }
    String subject = text(body, "subject");
    if (altNames.isEmpty() && !subject.isEmpty()) {
      altNames.add(subject);
    }
    if (altNames.size() > 16) {
      throw new IllegalArgumentException("at most 16 alt_names");
    }
    long validity = 86_400;
    if (body.hasNonNull("not_after")) {
      long notAfter = body.get("not_after").asLong();
      validity =
          Math.max(60, Math.min(86_400, notAfter - agent.clock().instant().getEpochSecond()));
    }
    var kms =
        agent.kms().orElseThrow(() -> new ApiException(503, "no KMS connection for SignCert"));
    KeyPair pair = RaTlsCertificateFactory.newKeyPair();
    byte[] csr;
    try {
      String cn = subject.isEmpty() ? "teekms-app" : subject;
      csr =
          new JcaPKCS10CertificationRequestBuilder(
                  new X500Principal("CN=" + cn.replace(",", "\\,")), pair.getPublic())
              .build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate()))
              .getEncoded();
    } catch (Exception e) {
      throw new ApiException(500, "building the CSR failed: " + e.getMessage());
    }
    SignCertResponse signed;
    try {
      signed =
          kms.signCert(
              SignCertRequest.newBuilder()
                  .setCsr(ByteString.copyFrom(csr))
                  .addAllDnsNames(altNames)
                  .setValiditySeconds((int) validity)
                  .setClientAuth(body.path("usage_client_auth").asBoolean(false))
                  .build());
    } catch (BootFailure e) {
      throw new ApiException(502, "KMS SignCert failed: " + e.getMessage());
    }
    X509Certificate leaf;
    try {
      leaf =
          (X509Certificate)
              CertificateFactory.getInstance("X.509")
                  .generateCertificate(
                      new java.io.ByteArrayInputStream(signed.getCertificate().toByteArray()));
    } catch (GeneralSecurityException e) {
      throw new ApiException(502, "the KMS returned no valid certificate: " + e.getMessage());
    }
    if (!leaf.getPublicKey().equals(pair.getPublic())) {
      throw new ApiException(502, "the KMS certified another key");
    }
    // The issuer must be our app CA: the key certified (under the app root key) in what the KMS
    // released at boot.
    AgentKeys.VersionKeys v = agent.keys().versions().get(signed.getKeyVersion());
    if (v == null) {
      throw new ApiException(
          502,
          "the KMS signed with key version " + signed.getKeyVersion() + ", which we do not hold");
    }
    try {
      leaf.verify(p256(v.appCaCertificate().publicKey().toByteArray()), BC);
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new ApiException(
          502, "the certificate is not signed by the app CA of key version " + v.version());
    }
    ObjectNode out = JSON.createObjectNode();
    out.put(
        "key", Pem.encode("PRIVATE KEY", pair.getPrivate().getEncoded())); // dstack returns PKCS#8
    out.putArray("certificate_chain").add(Pem.encode(leaf));
    out.put("key_version", signed.getKeyVersion());
    out.put("grant_id", signed.getGrantId());
    return out;
  }

  private static final Provider BC = BouncyCastle.PROVIDER;

  /** A P-256 public key from its SEC1 compressed encoding. */
  static java.security.PublicKey p256(byte[] compressed) throws GeneralSecurityException {
    var params = org.bouncycastle.asn1.x9.ECNamedCurveTable.getByName("secp256r1");
    var spec =
        new org.bouncycastle.jce.spec.ECPublicKeySpec(
            params.getCurve().decodePoint(compressed),
            new org.bouncycastle.jce.spec.ECParameterSpec(
                params.getCurve(), params.getG(), params.getN(), params.getH()));
    return java.security.KeyFactory.getInstance("EC", BC).generatePublic(spec);
  }

  // ---- Sign / Verify / Version
  // ------------------------------------------------------------------------------------

  private ObjectNode sign(JsonNode body) {
    String algorithm = text(body, "algorithm");
    byte[] data = HexField.parse("data", text(body, "data"), -1);
    KeyAlgorithm alg =
        switch (algorithm) {
          case "secp256k1", "k256", "secp256k1_prehashed" -> KeyAlgorithm.SECP256K1;
          case "ed25519" -> KeyAlgorithm.ED25519;
          default -> throw new IllegalArgumentException("unsupported algorithm: " + algorithm);
        };
    AgentKeys keys = agent.keys();
    try (DerivedKey key = keys.current().deriver().signingKey(alg, SIGN_KEY_PATH)) {
      byte[] signature;
      if (algorithm.equals("secp256k1_prehashed")) {
        if (data.length != 32) {
          throw new IllegalArgumentException(
              "pre-hashed signing requires a 32-byte digest, got " + data.length);
        }
        signature = key.secp256k1Signer().signPrehashed(data);
      } else {
        signature =
            key.signer()
                .sign(
                    data); // Ed25519 of data, or k256: r ‖ s of SHA-256(data), as dstack returns it
      }
      ObjectNode out = JSON.createObjectNode();
      out.put("signature", HexField.hex(signature));
      putChain(out, keys.chainOf(key));
      out.put("public_key", HexField.hex(key.publicKey()));
      putChainContext(out, keys);
      return out;
    }
  }

  private ObjectNode verify(JsonNode body) {
    String algorithm = text(body, "algorithm");
    byte[] data = HexField.parse("data", text(body, "data"), -1);
    byte[] signature = HexField.parse("signature", text(body, "signature"), -1);
    byte[] publicKey = HexField.parse("public_key", text(body, "public_key"), -1);
    boolean valid =
        switch (algorithm) {
          case "ed25519" -> SigningKey.verify(KeyAlgorithm.ED25519, publicKey, data, signature);
          case "secp256k1", "k256" ->
              SigningKey.verify(KeyAlgorithm.SECP256K1, publicKey, data, signature);
          case "secp256k1_prehashed" ->
              Secp256k1SigningKey.verifyPrehashed(publicKey, data, signature);
          default -> throw new IllegalArgumentException("unsupported algorithm: " + algorithm);
        };
    ObjectNode out = JSON.createObjectNode();
    out.put("valid", valid);
    return out;
  }

  private ObjectNode version() {
    ObjectNode out = JSON.createObjectNode();
    out.put("version", VERSION);
    out.put("rev", "teekms");
    return out;
  }

  // ---- helpers
  // --------------------------------------------------------------------------------------------------

  private static String text(JsonNode body, String field) {
    JsonNode n = body.get(field);
    if (n == null || n.isNull()) {
      return "";
    }
    if (!n.isTextual()) {
      throw new IllegalArgumentException(field + " must be a string");
    }
    return n.asText();
  }
}
