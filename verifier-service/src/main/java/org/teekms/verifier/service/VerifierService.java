package org.teekms.verifier.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.TimeoutHandler;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.teekms.attest.gpu.GpuEvidenceVerifier;
import org.teekms.attest.gpu.GpuResult;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.MrSystem;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.QuoteVerificationResult;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.crypto.Bytes;
import org.teekms.governance.ChainPolicyReader;
import org.teekms.governance.OnChainAppPolicy;
import org.teekms.governance.PolicyReaderConfig;
import org.teekms.proto.AuditorGrpc;
import org.teekms.proto.ListAuditEventsRequest;
import org.teekms.verifier.ExpectedIdentity;
import org.teekms.verifier.GpuRequirement;
import org.teekms.verifier.NvidiaPayload;
import org.teekms.verifier.ResponseVerification;
import org.teekms.verifier.SignedText;

/**
 * The HTTP verifier service ({@code teekms verifier serve}): JSON endpoints that give the same
 * verdicts as the CLI, computed by the same classes ({@link ResponseVerification} for responses),
 * plus the web page and the OpenAPI description. Thin: decode, call the library, encode. Request
 * bodies above {@link Config#maxBodyBytes} are refused (413) before they are read whole; a request
 * running longer than {@link Config#requestTimeout} is answered 503.
 *
 * <ul>
 *   <li>{@code POST /verify/response}: a signed response against the app's on-chain policy ({@code
 *       "app"}, with a chain configured) or an explicit identity ({@code "expected"}); neither is
 *       400;
 *   <li>{@code POST /verify/quote}: DCAP verification of a TDX quote (collateral from the
 *       configured source);
 *   <li>{@code POST /verify/gpu}: NVIDIA GPU evidence against a nonce;
 *   <li>{@code GET /policy/{app}}: the app's on-chain policy and rotation state at a pinned block,
 *       and its history (the events behind it) up to that block;
 *   <li>{@code GET /audit/anchor}: the latest audit head anchored in the registry (head, entry
 *       count) at a pinned block, for the page's auditor tab;
 *   <li>{@code GET /audit/events}: every entry of the configured KMS's audit log, fetched over
 *       RA-TLS (the KMS's certificate verified as {@code teekms audit} verifies it) and relayed
 *       verbatim; the page recomputes the chain itself and checks it against the on-chain anchor,
 *       so neither this service nor the KMS is taken at its word;
 *   <li>{@code GET /openapi.json}, {@code GET /} (the page) and its script.
 * </ul>
 */
public final class VerifierService implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final HexFormat HEX = HexFormat.of();

  /**
   * @param host the address to listen on (loopback by default: put a TLS-terminating proxy in front
   *     to publish it)
   * @param port the port (0: any free one)
   * @param dcap the quote verifier (its trust anchor: Intel's root, or a test root)
   * @param collateral where quote collateral comes from (a PCCS through the caching client, or
   *     files)
   * @param gpu the GPU evidence verifier (NVIDIA's root, OCSP, RIMs), null when GPU evidence cannot
   *     be checked
   * @param chain the chain holding the registry; empty: only explicit identities, no {@code
   *     /policy}
   * @param maxBodyBytes the largest request body accepted
   * @param requestTimeout how long one request may run
   * @param clock the verification time
   * @param kms the KMS node whose audit log {@code GET /audit/events} fetches (its RA-TLS
   *     certificate verified with {@code dcap} and {@code collateral}); empty: no such endpoint
   */
  public record Config(
      String host,
      int port,
      DcapQuoteVerifier dcap,
      CollateralSource collateral,
      GpuEvidenceVerifier gpu,
      Optional<PolicyReaderConfig> chain,
      long maxBodyBytes,
      Duration requestTimeout,
      Clock clock,
      Optional<KmsAuditor.Address> kms) {
    public static final long DEFAULT_MAX_BODY_BYTES = 4L * 1024 * 1024;
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    /** Without a KMS to fetch audit logs from. */
    public Config(
        String host,
        int port,
        DcapQuoteVerifier dcap,
        CollateralSource collateral,
        GpuEvidenceVerifier gpu,
        Optional<PolicyReaderConfig> chain,
        long maxBodyBytes,
        Duration requestTimeout,
        Clock clock) {
      this(
          host,
          port,
          dcap,
          collateral,
          gpu,
          chain,
          maxBodyBytes,
          requestTimeout,
          clock,
          Optional.empty());
    }

    /** The same, fetching audit logs from {@code kms}. */
    public Config withKms(KmsAuditor.Address kms) {
      return new Config(
          host,
          port,
          dcap,
          collateral,
          gpu,
          chain,
          maxBodyBytes,
          requestTimeout,
          clock,
          Optional.of(kms));
    }

    public Config {
      Objects.requireNonNull(host, "host");
      Objects.requireNonNull(dcap, "dcap");
      Objects.requireNonNull(collateral, "collateral");
      Objects.requireNonNull(chain, "chain");
      Objects.requireNonNull(clock, "clock");
      Objects.requireNonNull(kms, "kms");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be 0..65535");
      }
      if (maxBodyBytes < 1024) {
        throw new IllegalArgumentException("maxBodyBytes must be at least 1024");
      }
      if (requestTimeout.isNegative() || requestTimeout.isZero()) {
        throw new IllegalArgumentException("requestTimeout must be positive");
      }
    }
  }

  private final Config config;
  private final Vertx vertx;
  private final ChainPolicyReader reader;
  private HttpServer server;

  private VerifierService(Config config) {
    this.config = config;
    this.vertx = Vertx.vertx();
    this.reader = config.chain().map(ChainPolicyReader::new).orElse(null);
  }

  /** Starts the service and returns once it listens. */
  public static VerifierService start(Config config) throws Exception {
    VerifierService s = new VerifierService(config);
    try {
      s.listen();
    } catch (Exception e) {
      s.close();
      throw e;
    }
    return s;
  }

  public int port() {
    return server.actualPort();
  }

  private void listen() throws Exception {
    Router router = Router.router(vertx);
    router.route().handler(TimeoutHandler.create(config.requestTimeout().toMillis(), 503));
    router.route().handler(BodyHandler.create(false).setBodyLimit(config.maxBodyBytes()));
    router.post("/verify/response").handler(ctx -> blocking(ctx, this::verifyResponse));
    router.post("/verify/quote").handler(ctx -> blocking(ctx, this::verifyQuote));
    router.post("/verify/gpu").handler(ctx -> blocking(ctx, this::verifyGpu));
    router.get("/policy/:app").handler(ctx -> blocking(ctx, c -> policy(c.pathParam("app"))));
    router.get("/audit/anchor").handler(ctx -> blocking(ctx, c -> auditAnchor()));
    router.get("/audit/events").handler(ctx -> blocking(ctx, c -> auditEvents()));
    router.get("/openapi.json").handler(ctx -> resource(ctx, "openapi.json", "application/json"));
    router.get("/").handler(ctx -> resource(ctx, "index.html", "text/html; charset=utf-8"));
    router
        .get("/verifier.js")
        .handler(ctx -> resource(ctx, "verifier.js", "text/javascript; charset=utf-8"));
    router.errorHandler(
        413,
        ctx -> error(ctx, 413, "request body larger than " + config.maxBodyBytes() + " bytes"));
    router.errorHandler(
        404,
        ctx ->
            error(
                ctx,
                404,
                "no such endpoint: " + ctx.request().method() + " " + ctx.request().path()));
    router.errorHandler(405, ctx -> error(ctx, 405, "method not allowed"));
    router.errorHandler(500, ctx -> error(ctx, 500, "internal error"));
    router.errorHandler(
        503,
        ctx ->
            error(
                ctx,
                503,
                "the request took longer than " + config.requestTimeout().toMillis() + " ms"));
    server =
        vertx
            .createHttpServer(new HttpServerOptions().setHost(config.host()).setPort(config.port()))
            .requestHandler(router)
            .listen()
            .toCompletionStage()
            .toCompletableFuture()
            .get(30, TimeUnit.SECONDS);
  }

  /** A handler's answer: the HTTP status and the JSON body. */
  record Answer(int status, JsonNode body) {}

  /** Thrown by handlers for a request that cannot be served as asked (a 400 with this message). */
  static final class BadRequest extends Exception {
    private static final long serialVersionUID = 1L;

    BadRequest(String message) {
      super(message);
    }
  }

  @FunctionalInterface
  interface Handler {
    Answer handle(RoutingContext ctx) throws BadRequest;
  }

  /** Runs {@code h} off the event loop (verification and chain reads block), then answers. */
  private void blocking(RoutingContext ctx, Handler h) {
    Future<Answer> f =
        vertx.executeBlocking(
            () -> {
              try {
                return h.handle(ctx);
              } catch (BadRequest e) {
                ObjectNode o = JSON.createObjectNode();
                o.put("error", e.getMessage());
                return new Answer(400, o);
              }
            },
            false);
    f.onComplete(
        ar -> {
          if (ctx.response().ended() || ctx.response().closed()) {
            return;
          }
          if (ar.failed()) {
            error(ctx, 500, "internal error");
            return;
          }
          send(ctx, ar.result().status(), ar.result().body());
        });
  }

  private static void send(RoutingContext ctx, int status, JsonNode body) {
    try {
      ctx.response()
          .setStatusCode(status)
          .putHeader("Content-Type", "application/json")
          .putHeader("Cache-Control", "no-store")
          .end(JSON.writeValueAsString(body));
    } catch (IOException e) {
      ctx.response().setStatusCode(500).end();
    }
  }

  private static void error(RoutingContext ctx, int status, String message) {
    if (ctx.response().ended()) {
      return;
    }
    ObjectNode o = JSON.createObjectNode();
    o.put("error", message);
    send(ctx, status, o);
  }

  private static void resource(RoutingContext ctx, String name, String type) {
    try (InputStream in = VerifierService.class.getResourceAsStream(name)) {
      if (in == null) {
        error(ctx, 404, "no such resource: " + name);
        return;
      }
      ctx.response()
          .putHeader("Content-Type", type)
          .putHeader(
              "Content-Security-Policy",
              "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                  + "connect-src 'self' http: https:")
          .putHeader("X-Content-Type-Options", "nosniff")
          .end(io.vertx.core.buffer.Buffer.buffer(in.readAllBytes()));
    } catch (IOException e) {
      error(ctx, 500, "cannot read " + name);
    }
  }

  private static ObjectNode body(RoutingContext ctx) throws BadRequest {
    String text = ctx.body().asString();
    try {
      JsonNode n = text == null ? null : JSON.readTree(text);
      if (n != null && n.isObject()) {
        return (ObjectNode) n;
      }
    } catch (IOException e) {
      // below
    }
    throw new BadRequest("the request body must be a JSON object");
  }

  // ---- POST /verify/response ----

  private Answer verifyResponse(RoutingContext ctx) throws BadRequest {
    ObjectNode b = body(ctx);
    SignedText.Endpoint endpoint;
    try {
      endpoint =
          new SignedText.Endpoint(
              b.path("method").asText("POST"), b.path("path").asText("/v1/chat/completions"));
    } catch (IllegalArgumentException e) {
      throw new BadRequest("method/path: " + e.getMessage());
    }
    Optional<Bytes> nonce =
        b.hasNonNull("nonce")
            ? Optional.of(bytes(b.get("nonce").asText(), 32, "nonce"))
            : Optional.empty();
    ExpectedIdentity identity = identity(b);
    ResponseVerification.Result r =
        new ResponseVerification(
                new ResponseVerification.Settings(
                    config.dcap(),
                    config.collateral(),
                    config.clock().instant(),
                    config.gpu(),
                    endpoint,
                    b.path("acceptNearText").asBoolean(false),
                    nonce))
            .verify(
                identity,
                document(b, "report"),
                document(b, "signature"),
                raw(b, "request"),
                raw(b, "response"));
    return new Answer(200, r.toJson());
  }

  /**
   * {@code "app"} (the on-chain policy) or {@code "expected"} (explicit); neither or both is a bad
   * request.
   */
  private ExpectedIdentity identity(ObjectNode b) throws BadRequest {
    boolean chain = b.hasNonNull("app");
    boolean explicit = b.hasNonNull("expected");
    if (chain == explicit) {
      throw new BadRequest(
          chain
              ? "give either \"app\" (the on-chain policy) or \"expected\", not both"
              : "no expected identity: give \"app\" (the app's on-chain policy) or \"expected\": {\"composeHash\", "
                  + "\"osImage\", \"mrSystems\"}; without one a valid signature only proves that some TDX VM running "
                  + "some code signed the response");
    }
    if (chain) {
      if (reader == null) {
        throw new BadRequest(
            "this verifier has no chain configured (--rpc-url): give \"expected\" instead of "
                + "\"app\"");
      }
      String app = b.get("app").asText();
      bytes(app, 20, "app");
      return ChainIdentity.of(reader.appPolicy(app));
    }
    JsonNode e = b.get("expected");
    if (!e.isObject() || !e.hasNonNull("composeHash") || !e.hasNonNull("osImage")) {
      throw new BadRequest(
          "\"expected\" needs \"composeHash\" and \"osImage\" (and \"mrSystems\", the golden "
              + "values of that image)");
    }
    Set<Bytes> golden = new LinkedHashSet<>();
    for (JsonNode m : e.path("mrSystems")) {
      golden.add(bytes(m.asText(), 32, "mrSystems"));
    }
    Optional<Bytes> app =
        e.hasNonNull("app")
            ? Optional.of(bytes(e.get("app").asText(), 20, "expected.app"))
            : Optional.empty();
    return ExpectedIdentity.explicit(
        app,
        bytes(e.get("composeHash").asText(), 32, "composeHash"),
        bytes(e.get("osImage").asText(), 32, "osImage"),
        golden,
        QuotePolicy.builder().build(),
        e.path("requireGpu").asBoolean(false)
            ? new GpuRequirement(1, "", Optional.empty(), true)
            : GpuRequirement.NONE);
  }

  /** A JSON document given either as an object or as its text. */
  private static byte[] document(ObjectNode b, String field) throws BadRequest {
    JsonNode n = b.get(field);
    if (n == null || n.isNull()) {
      throw new BadRequest("\"" + field + "\" is missing");
    }
    return n.isTextual()
        ? n.asText().getBytes(StandardCharsets.UTF_8)
        : n.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** The exact bytes of a body: {@code field} as UTF-8 text, or {@code field + "Base64"}. */
  private static byte[] raw(ObjectNode b, String field) throws BadRequest {
    if (b.hasNonNull(field + "Base64")) {
      try {
        return Base64.getDecoder().decode(b.get(field + "Base64").asText());
      } catch (IllegalArgumentException e) {
        throw new BadRequest("\"" + field + "Base64\" is not base64");
      }
    }
    JsonNode n = b.get(field);
    if (n == null || !n.isTextual()) {
      throw new BadRequest(
          "\"" + field + "\" must be the exact body as a string (or \"" + field + "Base64\")");
    }
    return n.asText().getBytes(StandardCharsets.UTF_8);
  }

  private static Bytes bytes(String hex, int length, String what) throws BadRequest {
    try {
      byte[] b =
          HEX.parseHex(hex.startsWith("0x") || hex.startsWith("0X") ? hex.substring(2) : hex);
      if (b.length == length) {
        return Bytes.copyOf(b);
      }
    } catch (IllegalArgumentException e) {
      // below
    }
    throw new BadRequest("\"" + what + "\" must be " + length + " bytes of hex");
  }

  // ---- POST /verify/quote ----

  private Answer verifyQuote(RoutingContext ctx) throws BadRequest {
    ObjectNode b = body(ctx);
    String hex = b.path("quote").asText("");
    byte[] quote;
    try {
      quote = HEX.parseHex(hex.startsWith("0x") ? hex.substring(2) : hex);
    } catch (IllegalArgumentException e) {
      throw new BadRequest("\"quote\" must be the quote in hex");
    }
    ObjectNode o = JSON.createObjectNode();
    QuoteVerificationResult q;
    try {
      q =
          config
              .dcap()
              .verify(TdxQuote.parse(quote), config.collateral(), config.clock().instant());
    } catch (org.teekms.attest.tdx.QuoteParseException | RuntimeException e) {
      o.put("valid", false);
      o.put("failure", "MALFORMED_QUOTE");
      o.put("error", String.valueOf(e.getMessage()));
      return new Answer(200, o);
    }
    o.put("valid", q.valid());
    o.put("failure", q.valid() ? null : String.valueOf(q.failure()));
    o.put("error", q.valid() ? null : q.error());
    o.put("tcbStatus", q.status() == null ? null : q.status().name());
    o.putPOJO("advisoryIds", q.advisoryIds());
    if (q.valid()) {
      QuotePolicy.Decision d = QuotePolicy.builder().build().evaluate(q);
      o.put("defaultPolicyAllowed", d.allowed());
      o.putPOJO("policyViolations", d.violations());
      ObjectNode td = o.putObject("td");
      td.put("mrTd", q.td().mrTd().hex());
      td.put("rtmr0", q.td().rtmr(0).hex());
      td.put("rtmr1", q.td().rtmr(1).hex());
      td.put("rtmr2", q.td().rtmr(2).hex());
      td.put("rtmr3", q.td().rtmr(3).hex());
      td.put("mrSystem", MrSystem.of(q.td()).hex());
      td.put("reportData", q.td().reportData().hex());
    }
    return new Answer(200, o);
  }

  // ---- POST /verify/gpu ----

  private Answer verifyGpu(RoutingContext ctx) throws BadRequest {
    ObjectNode b = body(ctx);
    if (config.gpu() == null) {
      throw new BadRequest("this verifier has no GPU trust root configured");
    }
    JsonNode p = b.get("nvidia_payload");
    if (p == null || p.isNull()) {
      throw new BadRequest("\"nvidia_payload\" is missing");
    }
    NvidiaPayload payload;
    try {
      payload = NvidiaPayload.decode(p.isTextual() ? p.asText() : p.toString());
    } catch (RuntimeException e) {
      throw new BadRequest("nvidia_payload: " + e.getMessage());
    }
    byte[] nonce =
        b.hasNonNull("nonce")
            ? bytes(b.get("nonce").asText(), 32, "nonce").toByteArray()
            : payload.nonce().toByteArray();
    List<GpuResult> results =
        config.gpu().verify(payload.evidence(), nonce, config.clock().instant());
    ObjectNode o = JSON.createObjectNode();
    boolean all = !results.isEmpty() && results.stream().allMatch(GpuResult::valid);
    o.put("valid", all);
    o.put("nonce", HEX.formatHex(nonce));
    ArrayNode arr = o.putArray("gpus");
    for (GpuResult g : results) {
      ObjectNode r = arr.addObject();
      r.put("valid", g.valid());
      r.put("arch", g.arch() == null ? null : g.arch().name());
      r.put("driverVersion", g.driverVersion());
      r.put("vbiosVersion", g.vbiosVersion());
      r.put("deviceId", g.deviceId());
      r.put("measurements", g.measurements().status().name());
      r.put("simulated", g.simulated());
      r.put("failure", g.valid() ? null : g.failure().name());
      r.put("error", g.error());
    }
    return new Answer(200, o);
  }

  // ---- GET /policy/{app} ----

  private Answer policy(String app) throws BadRequest {
    if (reader == null) {
      ObjectNode o = JSON.createObjectNode();
      o.put("error", "this verifier has no chain configured (--rpc-url)");
      return new Answer(503, o);
    }
    bytes(app, 20, "app");
    OnChainAppPolicy p = reader.appPolicy(app);
    ObjectNode o = ChainIdentity.toJson(p);
    if (p.failure().isEmpty()) {
      o.set("history", ChainIdentity.historyJson(reader.appHistory(p)));
    }
    return new Answer(o.path("readable").asBoolean() ? 200 : 503, o);
  }

  // ---- GET /audit/anchor ----

  private Answer auditAnchor() {
    ObjectNode o = JSON.createObjectNode();
    if (reader == null) {
      o.put("error", "this verifier has no chain configured (--rpc-url)");
      return new Answer(503, o);
    }
    ChainPolicyReader.AnchoredAuditHead a = reader.latestAuditAnchor();
    o.put("chainId", reader.config().chainId());
    o.put("registry", reader.config().registryAddress());
    o.put("blockNumber", a.blockNumber());
    o.put("blockHash", a.blockHash());
    o.put("readable", a.failure().isEmpty());
    o.put("error", a.failure().orElse(null));
    if (a.anchor() != null) {
      o.put("head", a.anchor().head().hex());
      o.put("entryCount", a.anchor().entryCount());
      o.put("atBlock", a.anchor().atBlock());
    }
    return new Answer(a.failure().isEmpty() ? 200 : 503, o);
  }

  // ---- GET /audit/events ----

  /**
   * The most entries {@code GET /audit/events} relays (beyond that: {@code teekms audit verify}).
   */
  public static final int MAX_AUDIT_ENTRIES = 100_000;

  private Answer auditEvents() {
    ObjectNode o = JSON.createObjectNode();
    if (config.kms().isEmpty()) {
      o.put("error", "this verifier has no KMS configured (--kms HOST:PORT)");
      return new Answer(503, o);
    }
    KmsAuditor.Address kms = config.kms().get();
    int deadline = (int) Math.max(1, config.requestTimeout().toSeconds() - 1);
    ManagedChannel channel;
    try {
      channel = KmsAuditor.open(kms, config.dcap(), config.collateral(), config.clock());
    } catch (SSLException e) {
      o.put("error", "cannot set up TLS to the KMS at " + kms + ": " + e.getMessage());
      return new Answer(502, o);
    }
    try {
      // every entry (to_time far in the future): the chain can only be recomputed from seq 1
      KmsAuditor.Page page =
          KmsAuditor.events(
              AuditorGrpc.newBlockingStub(channel).withDeadlineAfter(deadline, TimeUnit.SECONDS),
              ListAuditEventsRequest.newBuilder().setToTime(Long.MAX_VALUE),
              MAX_AUDIT_ENTRIES);
      if (page.truncated()) {
        o.put(
            "error",
            "the KMS at "
                + kms
                + " holds more than "
                + MAX_AUDIT_ENTRIES
                + " audit entries: "
                + "recompute them with teekms audit verify");
        return new Answer(502, o);
      }
      o.put("kms", kms.toString());
      o.put("verifiedBy", "RA-TLS: the KMS's certificate verified by this service");
      o.put("count", page.events().size());
      o.set("events", page.events());
      return new Answer(200, o);
    } catch (StatusRuntimeException e) {
      o.put(
          "error",
          "cannot fetch the audit log: " + KmsAuditor.failure(kms.toString(), "", deadline, e));
      return new Answer(502, o);
    } finally {
      channel.shutdownNow();
    }
  }

  @Override
  public void close() {
    if (reader != null) {
      reader.close();
    }
    vertx
        .close()
        .toCompletionStage()
        .toCompletableFuture()
        .orTimeout(10, TimeUnit.SECONDS)
        .exceptionally(e -> null)
        .join();
  }
}
