package org.teekms.governance.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.Executors;

/**
 * A lying JSON-RPC endpoint for tests: forwards every request to a real node (anvil) and lets a
 * {@link Rewriter} change the answer, as a malicious or compromised RPC provider would. On
 * 127.0.0.1, an ephemeral port.
 */
public final class RpcProxy implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Changes one answer in place ({@code response} holds "result" or "error"); the default passes
   * everything.
   */
  @FunctionalInterface
  public interface Rewriter {
    void rewrite(String method, JsonNode params, ObjectNode response);
  }

  private final HttpServer server;
  private final HttpClient http = HttpClient.newHttpClient();
  private volatile Rewriter rewriter;

  private RpcProxy(String upstream, Rewriter rewriter) throws IOException {
    this.rewriter = rewriter;
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(
        Executors.newFixedThreadPool(
            4,
            r -> {
              Thread t = new Thread(r, "rpc-proxy");
              t.setDaemon(true);
              return t;
            }));
    server.createContext(
        "/",
        exchange -> {
          try (exchange) {
            byte[] body = exchange.getRequestBody().readAllBytes();
            HttpResponse<String> answer;
            try {
              answer =
                  http.send(
                      HttpRequest.newBuilder(URI.create(upstream))
                          .header("Content-Type", "application/json")
                          .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                          .build(),
                      HttpResponse.BodyHandlers.ofString());
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              throw new IOException(e);
            }
            JsonNode request = JSON.readTree(body);
            JsonNode response = JSON.readTree(answer.body());
            if (request.isObject() && response.isObject()) {
              this.rewriter.rewrite(
                  request.path("method").asText(), request.path("params"), (ObjectNode) response);
            }
            byte[] out = JSON.writeValueAsBytes(response);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, out.length);
            try (OutputStream o = exchange.getResponseBody()) {
              o.write(out);
            }
          }
        });
    server.start();
  }

  /**
   * A proxy in front of {@code upstream} (a JSON-RPC URL) that rewrites answers with {@code
   * rewriter}.
   */
  public static RpcProxy start(String upstream, Rewriter rewriter) throws IOException {
    return new RpcProxy(upstream, rewriter);
  }

  /** An honest pass-through proxy (another endpoint serving the same chain). */
  public static RpcProxy honest(String upstream) throws IOException {
    return new RpcProxy(upstream, (m, p, r) -> {});
  }

  /** From now on, answers are rewritten by {@code next}. */
  public void rewriteWith(Rewriter next) {
    this.rewriter = next;
  }

  public String rpcUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }
}
