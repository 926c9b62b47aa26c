package org.teekms.agent.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.teekms.agent.HttpBodies;
import org.teekms.agent.api.ApiException;
import org.teekms.crypto.Digests;
import org.teekms.verifier.SignedText;

/**
 * The verifiable-inference proxy: an OpenAI-compatible reverse proxy in front of the inference
 * server. {@code /v1/chat/completions} and {@code /v1/completions} are forwarded byte for byte
 * (streaming SSE chunks are written to the client as they arrive); each successful response is
 * signed over the method and request-target, the exact request bytes received and the exact
 * response bytes sent ({@link ResponseSigner}) and kept by chat id ({@link SignatureStore}) for
 * {@code /v1/signature/{chat_id}} ({@code ?signing_algo=ecdsa|ed25519}; the payload names {@code
 * signature_kind} {@code provider_tee}). {@code /v1/models} is forwarded; {@code
 * /v1/attestation/report} attests a signing key ({@link AttestationReporter}) and is public: it
 * needs no bearer token, since it reveals nothing but evidence and verifiers such as NEAR AI's
 * fetch it without one; each source address may ask for it {@code proxy.report-requests-per-minute}
 * times a minute (burst {@code proxy.report-burst}; over that: 429 with Retry-After, before any
 * quote is made), and the reporter bounds the rest ({@link ReportLimits}). Upstream errors pass
 * through with their status and are not signed. With the {@code near-model} text the request must
 * be a JSON object with a string {@code model} (400 otherwise): the signature commits to it.
 */
public final class SigningProxy implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(SigningProxy.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * @param upstream base URL of the inference server, e.g. http://127.0.0.1:8000
   * @param upstreamApiKey bearer token for the upstream, if it needs one
   * @param authToken bearer token clients must present, if any (empty = no authentication)
   * @param maxRequestBytes request body limit (413 beyond)
   * @param maxResponseBytes response limit for non-streaming bodies, which are buffered to be
   *     signed first
   * @param signatureWait how long /v1/signature waits for a response still streaming
   */
  public record Settings(
      String host,
      int port,
      URI upstream,
      Optional<String> upstreamApiKey,
      Optional<String> authToken,
      int maxRequestBytes,
      int maxResponseBytes,
      Duration signatureWait,
      Duration upstreamTimeout) {
    public Settings {
      Objects.requireNonNull(upstream, "upstream");
      if (!"http".equals(upstream.getScheme()) && !"https".equals(upstream.getScheme())) {
        throw new IllegalArgumentException("upstream must be an http(s) URL: " + upstream);
      }
    }
  }

  private final Vertx vertx;
  private final HttpServer server;
  private final HttpClient client;

  private SigningProxy(Vertx vertx, HttpServer server, HttpClient client) {
    this.vertx = vertx;
    this.server = server;
    this.client = client;
  }

  public static SigningProxy start(
      Vertx vertx,
      Settings s,
      ResponseSigner signer,
      SignatureStore store,
      AttestationReporter reporter)
      throws Exception {
    HttpClient client =
        vertx.createHttpClient(
            new HttpClientOptions()
                .setTryUseCompression(false)
                .setKeepAlive(true)
                .setMaxPoolSize(64)
                .setSsl("https".equals(s.upstream().getScheme())));
    Handler h = new Handler(vertx, s, signer, store, reporter, client);
    HttpServer server = vertx.createHttpServer().requestHandler(h::handle);
    server
        .listen(s.port(), s.host())
        .toCompletionStage()
        .toCompletableFuture()
        .get(30, TimeUnit.SECONDS);
    LOG.info(
        "signing proxy on "
            + s.host()
            + ":"
            + server.actualPort()
            + " -> "
            + s.upstream()
            + ", signer "
            + signer.address());
    return new SigningProxy(vertx, server, client);
  }

  public int port() {
    return server.actualPort();
  }

  @Override
  public void close() {
    try {
      server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      client.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warning("closing the proxy: " + e);
    }
  }

  Vertx vertx() {
    return vertx;
  }

  private static final class Handler {
    private final Vertx vertx;
    private final Settings s;
    private final ResponseSigner signer;
    private final SignatureStore store;
    private final AttestationReporter reporter;
    private final HttpClient client;
    private final byte[] expectedAuth;
    private final SourceBudget reports;

    Handler(
        Vertx vertx,
        Settings s,
        ResponseSigner signer,
        SignatureStore store,
        AttestationReporter reporter,
        HttpClient client) {
      this.vertx = vertx;
      this.s = s;
      this.signer = signer;
      this.store = store;
      this.reporter = reporter;
      this.client = client;
      this.expectedAuth =
          s.authToken().map(t -> ("Bearer " + t).getBytes(StandardCharsets.UTF_8)).orElse(null);
      ReportLimits limits = reporter.limits();
      this.reports =
          new SourceBudget(
              limits.requestsPerMinute(),
              limits.burst(),
              limits.maxSources(),
              System::currentTimeMillis);
    }

    void handle(HttpServerRequest req) {
      String path = req.path();
      boolean publicReport =
          path.equals("/v1/attestation/report") && req.method() == HttpMethod.GET;
      // The report and the signatures are what a user's verifier page fetches from another origin
      // (CORS). Only the
      // bearer header is allowed (never cookies), so a page reads no more than a token holder could
      // read anyway.
      boolean verifierReadable =
          path.equals("/v1/attestation/report") || path.startsWith("/v1/signature/");
      if (verifierReadable) {
        req.response().putHeader("Access-Control-Allow-Origin", "*");
        if (req.method() == HttpMethod.OPTIONS) {
          req.response()
              .setStatusCode(204)
              .putHeader("Access-Control-Allow-Methods", "GET")
              .putHeader("Access-Control-Allow-Headers", "Authorization")
              .putHeader("Access-Control-Max-Age", "600")
              .end();
          return;
        }
      }
      if (expectedAuth != null && !publicReport) {
        String given = req.getHeader("Authorization");
        if (given == null
            || !MessageDigest.isEqual(expectedAuth, given.getBytes(StandardCharsets.UTF_8))) {
          error(req, 401, "missing or wrong bearer token");
          return;
        }
      }
      if (path.equals("/v1/chat/completions") || path.equals("/v1/completions")) {
        if (req.method() != HttpMethod.POST) {
          error(req, 405, "use POST");
          return;
        }
        completion(req, path);
      } else if (path.equals("/v1/models") && req.method() == HttpMethod.GET) {
        forwardPlain(req, path);
      } else if (path.startsWith("/v1/signature/") && req.method() == HttpMethod.GET) {
        signature(req, path.substring("/v1/signature/".length()));
      } else if (publicReport) {
        String source = req.remoteAddress() == null ? "unknown" : req.remoteAddress().host();
        long retryMillis = reports.tryAcquire(source);
        if (retryMillis > 0) {
          long seconds = Math.max(1, (retryMillis + 999) / 1000);
          req.response().putHeader("Retry-After", String.valueOf(seconds));
          error(
              req,
              429,
              "too many attestation reports from "
                  + source
                  + " (proxy.report-requests-per-minute); retry in "
                  + seconds
                  + " s");
          return;
        }
        String nonce = req.getParam("nonce");
        String address = req.getParam("signing_address");
        String algo = req.getParam("signing_algo");
        vertx
            .<ObjectNode>executeBlocking(() -> reporter.report(nonce, address, algo), false)
            .onComplete(
                ar -> {
                  if (ar.succeeded()) {
                    json(req, 200, ar.result());
                  } else if (ar.cause() instanceof ApiException e) {
                    error(req, e.status(), e.getMessage());
                  } else {
                    error(req, 500, "attestation failed");
                  }
                });
      } else {
        error(req, 404, "not found: " + req.method() + " " + path);
      }
    }

    private RequestOptions upstream(HttpMethod method, String path, HttpServerRequest req) {
      URI u = s.upstream();
      String base =
          u.getPath() == null || u.getPath().equals("/") ? "" : u.getPath().replaceAll("/$", "");
      RequestOptions o =
          new RequestOptions()
              .setMethod(method)
              .setHost(u.getHost())
              .setPort(u.getPort() > 0 ? u.getPort() : ("https".equals(u.getScheme()) ? 443 : 80))
              .setURI(base + path + (req.query() == null ? "" : "?" + req.query()))
              .setTimeout(s.upstreamTimeout().toMillis());
      copy(req, o, "Content-Type");
      copy(req, o, "Accept");
      o.putHeader("Accept-Encoding", "identity"); // we sign and relay plain bytes
      if (s.upstreamApiKey().isPresent()) {
        o.putHeader("Authorization", "Bearer " + s.upstreamApiKey().get());
      } else if (expectedAuth == null && req.getHeader("Authorization") != null) {
        o.putHeader("Authorization", req.getHeader("Authorization")); // upstream authenticates
      }
      return o;
    }

    private static void copy(HttpServerRequest req, RequestOptions o, String header) {
      String v = req.getHeader(header);
      if (v != null) {
        o.putHeader(header, v);
      }
    }

    private void forwardPlain(HttpServerRequest req, String path) {
      client
          .request(upstream(HttpMethod.GET, path, req))
          .compose(r -> r.send())
          .compose(resp -> resp.body().map(body -> new Object[] {resp, body}))
          .onComplete(
              ar -> {
                if (ar.failed()) {
                  error(req, 502, "upstream unreachable: " + ar.cause().getMessage());
                  return;
                }
                HttpClientResponse resp = (HttpClientResponse) ar.result()[0];
                relayHeaders(resp, req.response())
                    .setStatusCode(resp.statusCode())
                    .end((Buffer) ar.result()[1]);
              });
    }

    private static HttpServerResponse relayHeaders(HttpClientResponse from, HttpServerResponse to) {
      String ct = from.getHeader("Content-Type");
      if (ct != null) {
        to.putHeader("Content-Type", ct);
      }
      return to;
    }

    private void completion(HttpServerRequest req, String path) {
      HttpBodies.read(req, s.maxRequestBytes())
          .onComplete(
              body -> {
                if (body.failed()) {
                  error(
                      req,
                      body.cause() instanceof HttpBodies.TooLarge ? 413 : 400,
                      body.cause().getMessage());
                  return;
                }
                Buffer requestBytes = body.result();
                byte[] requestSha = sha256().digest(requestBytes.getBytes());
                String model = null;
                if (signer.format() == SignedText.Format.NEAR_MODEL) {
                  model =
                      SignedText.modelOfRequest(requestBytes.getBytes())
                          .filter(SignedText::validModelId)
                          .orElse(null);
                  if (model == null) {
                    error(
                        req,
                        400,
                        "the request needs a string model of 1-256 characters without control characters, "
                            + "not starting with '"
                            + SignedText.V2_TAG
                            + " ': "
                            + "the response signature commits to it");
                    return;
                  }
                }
                String signedModel = model;
                SignedText.Endpoint endpoint;
                try {
                  endpoint = new SignedText.Endpoint(req.method().name(), req.uri());
                } catch (IllegalArgumentException e) {
                  error(req, 400, "request-target cannot be signed: " + e.getMessage());
                  return;
                }
                client
                    .request(upstream(HttpMethod.POST, path, req))
                    .compose(r -> r.send(requestBytes))
                    .onComplete(
                        ar -> {
                          if (ar.failed()) {
                            error(req, 502, "upstream unreachable: " + ar.cause().getMessage());
                            return;
                          }
                          HttpClientResponse resp = ar.result();
                          if (resp.statusCode() / 100 != 2) {
                            resp.body()
                                .onComplete(
                                    b ->
                                        relayHeaders(resp, req.response())
                                            .setStatusCode(resp.statusCode())
                                            .end(b.succeeded() ? b.result() : Buffer.buffer()));
                            return;
                          }
                          String ct = resp.getHeader("Content-Type");
                          if (ct != null
                              && ct.toLowerCase(java.util.Locale.ROOT)
                                  .startsWith("text/event-stream")) {
                            stream(req, resp, endpoint, signedModel, requestSha);
                          } else {
                            whole(req, resp, endpoint, signedModel, requestSha);
                          }
                        });
              });
    }

    /**
     * Non-streaming: buffer (bounded), sign and store, then send: the signature exists before the
     * client has it.
     */
    private void whole(
        HttpServerRequest req,
        HttpClientResponse resp,
        SignedText.Endpoint endpoint,
        String model,
        byte[] requestSha) {
      Buffer acc = Buffer.buffer();
      boolean[] tooBig = {false};
      resp.handler(
          chunk -> {
            if (acc.length() + chunk.length() > s.maxResponseBytes()) {
              tooBig[0] = true;
            } else if (!tooBig[0]) {
              acc.appendBuffer(chunk);
            }
          });
      resp.exceptionHandler(e -> error(req, 502, "upstream failed: " + e.getMessage()));
      resp.endHandler(
          v -> {
            if (tooBig[0]) {
              error(req, 502, "upstream response exceeds " + s.maxResponseBytes() + " bytes");
              return;
            }
            byte[] bytes = acc.getBytes();
            chatId(bytes)
                .ifPresentOrElse(
                    id ->
                        store.put(
                            id, signer.sign(endpoint, model, requestSha, sha256().digest(bytes))),
                    () -> LOG.warning("upstream response has no id; not signed"));
            relayHeaders(resp, req.response()).setStatusCode(resp.statusCode()).end(acc);
          });
    }

    /** Streaming: relay each chunk as it comes, hash exactly what is relayed, sign at the end. */
    private void stream(
        HttpServerRequest req,
        HttpClientResponse resp,
        SignedText.Endpoint endpoint,
        String model,
        byte[] requestSha) {
      HttpServerResponse out =
          relayHeaders(resp, req.response()).setStatusCode(resp.statusCode()).setChunked(true);
      out.putHeader("Cache-Control", "no-cache");
      MessageDigest digest = sha256();
      SseChatId sniffer = new SseChatId();
      String[] id = {null};
      resp.handler(
          chunk -> {
            digest.update(chunk.getBytes());
            if (id[0] == null) {
              id[0] = sniffer.feed(chunk.getBytes()).orElse(null);
              if (id[0] != null) {
                store.pending(id[0]);
              }
            }
            out.write(chunk);
            if (out.writeQueueFull()) {
              resp.pause();
              out.drainHandler(v -> resp.resume());
            }
          });
      resp.exceptionHandler(
          e -> {
            if (id[0] != null) {
              store.abandon(id[0]);
            }
            out.reset();
          });
      resp.endHandler(
          v -> {
            if (id[0] != null) {
              store.put(id[0], signer.sign(endpoint, model, requestSha, digest.digest()));
            } else {
              LOG.warning("streamed response carried no id; not signed");
            }
            out.end();
          });
      req.connection()
          .closeHandler(
              v -> {
                if (!out.ended()) {
                  resp.request().reset(); // the client left: stop the upstream generation
                  if (id[0] != null) {
                    store.abandon(id[0]);
                  }
                }
              });
    }

    private void signature(HttpServerRequest req, String chatId) {
      if (chatId.isEmpty() || chatId.length() > 256) {
        error(req, 400, "chat id must be 1..256 characters");
        return;
      }
      String algo = req.getParam("signing_algo", SignedText.SIGNING_ALGO);
      if (!signer.signsWith(algo)) {
        error(
            req,
            400,
            "unsupported signing_algo; this proxy signs with "
                + (signer.signsWith(SignedText.ED25519) ? "ecdsa or ed25519" : "ecdsa"));
        return;
      }
      vertx
          .<Optional<SignedResponse>>executeBlocking(
              () -> store.get(chatId, s.signatureWait()), false)
          .onComplete(
              ar -> {
                if (ar.failed() || ar.result().isEmpty()) {
                  error(req, 404, "no signature for chat id " + chatId);
                  return;
                }
                Optional<SignedResponse> signed = ar.result().get().as(algo);
                if (signed.isEmpty()) {
                  error(req, 404, "no " + algo + " signature for chat id " + chatId);
                  return;
                }
                SignedResponse r = signed.get();
                ObjectNode o = JSON.createObjectNode();
                o.put("text", r.text());
                o.put("signature", r.signature());
                o.put("signing_address", r.signingAddress());
                o.put("signing_algo", r.signingAlgo());
                o.put("signature_kind", SignedText.SIGNATURE_KIND);
                json(req, 200, o);
              });
    }

    static Optional<String> chatId(byte[] json) {
      try {
        JsonNode n = JSON.readTree(json);
        return n != null && n.path("id").isTextual()
            ? Optional.of(n.get("id").asText())
            : Optional.empty();
      } catch (Exception e) {
        return Optional.empty();
      }
    }

    private static void json(HttpServerRequest req, int status, ObjectNode body) {
      req.response()
          .setStatusCode(status)
          .putHeader("Content-Type", "application/json")
          .end(body.toString());
    }

    private static void error(HttpServerRequest req, int status, String message) {
      if (req.response().ended() || req.response().headWritten()) {
        req.response().reset();
        return;
      }
      ObjectNode o = JSON.createObjectNode();
      o.putObject("error").put("message", message).put("code", status);
      json(req, status, o);
    }

    private static MessageDigest sha256() {
      return Digests.newSha256();
    }
  }
}
