package org.teekms.cli.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A tiny OpenAI-compatible model server for the demo, on 127.0.0.1 only: {@code GET /v1/models} and
 * {@code POST /v1/chat/completions} (non-streaming, and {@code "stream": true} as server-sent
 * events). It answers deterministically from the last user message, so the demo needs no GPU and no
 * weights; the signing proxy in front of it is the real one.
 */
final class FakeLlm implements AutoCloseable {
  static final String MODEL = "teekms-demo-echo";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpServer server;
  private final AtomicInteger requests = new AtomicInteger();
  private final byte[] expectedAuth;

  private FakeLlm(HttpServer server, String requiredToken) {
    this.server = server;
    this.expectedAuth =
        requiredToken == null ? null : ("Bearer " + requiredToken).getBytes(StandardCharsets.UTF_8);
  }

  static FakeLlm start() throws IOException {
    return start(null);
  }

  /**
   * A model that answers only requests carrying {@code Authorization: Bearer requiredToken} (null:
   * any request).
   */
  static FakeLlm start(String requiredToken) throws IOException {
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    FakeLlm llm = new FakeLlm(server, requiredToken);
    server.createContext("/v1/models", llm::models);
    server.createContext("/v1/chat/completions", llm::chat);
    server.setExecutor(
        Executors.newFixedThreadPool(
            4,
            r -> {
              Thread t = new Thread(r, "fake-llm");
              t.setDaemon(true);
              return t;
            }));
    server.start();
    return llm;
  }

  int port() {
    return server.getAddress().getPort();
  }

  int requests() {
    return requests.get();
  }

  private void models(HttpExchange ex) throws IOException {
    if (!ex.getRequestMethod().equals("GET")) {
      send(ex, 405, "{\"error\":{\"message\":\"use GET\"}}");
      return;
    }
    ObjectNode out = JSON.createObjectNode().put("object", "list");
    out.putArray("data")
        .addObject()
        .put("id", MODEL)
        .put("object", "model")
        .put("owned_by", "tee-kms-demo");
    send(ex, 200, JSON.writeValueAsString(out));
  }

  private void chat(HttpExchange ex) throws IOException {
    if (!ex.getRequestMethod().equals("POST")) {
      send(ex, 405, "{\"error\":{\"message\":\"use POST\"}}");
      return;
    }
    requests.incrementAndGet();
    if (!authorized(ex)) {
      send(ex, 401, "{\"error\":{\"message\":\"missing or wrong upstream API token\"}}");
      return;
    }
    JsonNode request;
    try {
      request = JSON.readTree(ex.getRequestBody().readNBytes(1 << 20));
    } catch (IOException e) {
      send(ex, 400, "{\"error\":{\"message\":\"request body is not JSON\"}}");
      return;
    }
    JsonNode messages = request.path("messages");
    if (!messages.isArray() || messages.isEmpty()) {
      send(ex, 400, "{\"error\":{\"message\":\"messages must be a non-empty array\"}}");
      return;
    }
    String question = messages.get(messages.size() - 1).path("content").asText("");
    String answer =
        "You asked: \""
            + question
            + "\". This answer comes from the demo's fake model, relayed and "
            + "signed by the tee-kms signing proxy inside a (simulated) confidential VM.";
    String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
    long created = System.currentTimeMillis() / 1000;
    if (request.path("stream").asBoolean(false)) {
      ex.getResponseHeaders().set("Content-Type", "text/event-stream");
      ex.sendResponseHeaders(200, 0);
      try (OutputStream os = ex.getResponseBody()) {
        for (String word : answer.split("(?<= )")) {
          ObjectNode chunk =
              JSON.createObjectNode()
                  .put("id", id)
                  .put("object", "chat.completion.chunk")
                  .put("created", created)
                  .put("model", MODEL);
          chunk
              .putArray("choices")
              .addObject()
              .put("index", 0)
              .putNull("finish_reason")
              .putObject("delta")
              .put("content", word);
          os.write(
              ("data: " + JSON.writeValueAsString(chunk) + "\n\n")
                  .getBytes(StandardCharsets.UTF_8));
        }
        os.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
      }
      return;
    }
    ObjectNode out =
        JSON.createObjectNode()
            .put("id", id)
            .put("object", "chat.completion")
            .put("created", created)
            .put("model", MODEL);
    ObjectNode choice =
        out.putArray("choices").addObject().put("index", 0).put("finish_reason", "stop");
    choice.putObject("message").put("role", "assistant").put("content", answer);
    int promptTokens = question.split("\\s+").length;
    int completionTokens = answer.split("\\s+").length;
    out.putObject("usage")
        .put("prompt_tokens", promptTokens)
        .put("completion_tokens", completionTokens)
        .put("total_tokens", promptTokens + completionTokens);
    send(ex, 200, JSON.writeValueAsString(out));
  }

  private boolean authorized(HttpExchange ex) {
    if (expectedAuth == null) {
      return true;
    }
    String got = ex.getRequestHeaders().getFirst("Authorization");
    return got != null
        && java.security.MessageDigest.isEqual(expectedAuth, got.getBytes(StandardCharsets.UTF_8));
  }

  private static void send(HttpExchange ex, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
