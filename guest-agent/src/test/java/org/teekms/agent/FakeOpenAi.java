package org.teekms.agent;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small OpenAI-compatible upstream for the proxy tests: chat and text completions, streaming
 * (SSE, events split across writes) and not, model listing, and a 404 for model "missing". Records
 * what it received.
 */
final class FakeOpenAi implements AutoCloseable {
  record Received(String path, byte[] body, String authorization) {}

  final List<Received> received = new CopyOnWriteArrayList<>();

  /**
   * Bytes of each stream by chat id, recorded before they are written (so complete once a client
   * has them).
   */
  final java.util.Map<String, java.io.ByteArrayOutputStream> streams =
      new java.util.concurrent.ConcurrentHashMap<>();

  private final AtomicInteger ids = new AtomicInteger();
  private final HttpServer server;

  FakeOpenAi() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.createContext("/", this::handle);
    server.start();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  private void handle(HttpExchange ex) throws IOException {
    byte[] body = ex.getRequestBody().readAllBytes();
    String path = ex.getRequestURI().getPath();
    received.add(new Received(path, body, ex.getRequestHeaders().getFirst("Authorization")));
    String text = new String(body, StandardCharsets.UTF_8);
    if (path.equals("/v1/models")) {
      send(
          ex,
          200,
          "application/json",
          "{\"object\":\"list\",\"data\":[{\"id\":\"demo\",\"object\":\"model\"}]}");
    } else if (text.contains("\"model\":\"missing\"")) {
      send(
          ex,
          404,
          "application/json",
          "{\"error\":{\"message\":\"The model `missing` does not exist.\",\"type\":\"NotFoundError\",\"code\":404}}");
    } else if (path.equals("/v1/chat/completions") && text.contains("\"stream\":true")) {
      stream(
          ex, "chatcmpl-" + ids.incrementAndGet(), text.contains("\"model\":\"slow\"") ? 200 : 5);
    } else if (path.equals("/v1/chat/completions")) {
      send(
          ex,
          200,
          "application/json",
          "{\"id\":\"chatcmpl-"
              + ids.incrementAndGet()
              + "\",\"object\":"
              + "\"chat.completion\",\"model\":\"demo\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
              + "\"content\":\"Grüße aus der TEE — 你好\"},\"finish_reason\":\"stop\"}]}\n");
    } else if (path.equals("/v1/completions")) {
      send(
          ex,
          200,
          "application/json",
          "{\"id\":\"cmpl-"
              + ids.incrementAndGet()
              + "\",\"object\":"
              + "\"text_completion\",\"choices\":[{\"text\":\" world\",\"index\":0}]}");
    } else {
      send(ex, 404, "text/plain", "no route");
    }
  }

  private void stream(HttpExchange ex, String id, int pauseMillis) throws IOException {
    ex.getResponseHeaders().add("Content-Type", "text/event-stream");
    ex.sendResponseHeaders(200, 0);
    java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
    streams.put(id, all);
    try (OutputStream out = ex.getResponseBody()) {
      String[] words = {"Hel", "lo", " from", " the", " enclave", " ✓"};
      for (String w : words) {
        String event =
            "data: {\"id\":\""
                + id
                + "\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
                + "\"delta\":{\"content\":\""
                + w
                + "\"}}]}\n\n";
        byte[] b = event.getBytes(StandardCharsets.UTF_8);
        int half = b.length / 2; // split events across writes, mid-JSON
        write(out, all, java.util.Arrays.copyOfRange(b, 0, half), pauseMillis);
        write(out, all, java.util.Arrays.copyOfRange(b, half, b.length), pauseMillis);
      }
      write(out, all, "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8), pauseMillis);
    }
  }

  private static void write(
      OutputStream out, java.io.ByteArrayOutputStream all, byte[] b, int pauseMillis)
      throws IOException {
    all.writeBytes(b);
    out.write(b);
    out.flush();
    try {
      Thread.sleep(pauseMillis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void send(HttpExchange ex, int status, String type, String body)
      throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", type);
    ex.sendResponseHeaders(status, b.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(b);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
