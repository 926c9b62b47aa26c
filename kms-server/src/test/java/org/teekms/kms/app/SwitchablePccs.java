package org.teekms.kms.app;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/**
 * A PCCS that can be switched off: on a fixed loopback port, forwards to an upstream PCCS while up,
 * and drops every connection without an answer while down (what a crashed or unreachable PCCS looks
 * like to the KMS). The upstream can be replaced (Intel publishing new collateral, e.g. a TCB
 * downgrade).
 */
final class SwitchablePccs implements AutoCloseable {
  private final HttpServer server;
  private final HttpClient http = HttpClient.newHttpClient();
  private volatile boolean up;
  private volatile String upstream;

  SwitchablePccs(int port, String upstream) throws IOException {
    this.upstream = upstream;
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
    server.createContext(
        "/",
        ex -> {
          if (!up) {
            ex.close();
            return;
          }
          try {
            HttpResponse<byte[]> r =
                http.send(
                    HttpRequest.newBuilder(URI.create(this.upstream + ex.getRequestURI()))
                        .GET()
                        .build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            r.headers()
                .map()
                .forEach(
                    (k, v) -> {
                      if (!k.equalsIgnoreCase("content-length")
                          && !k.equalsIgnoreCase("date")
                          && !k.startsWith(":")) {
                        v.forEach(x -> ex.getResponseHeaders().add(k, x));
                      }
                    });
            ex.sendResponseHeaders(r.statusCode(), r.body().length == 0 ? -1 : r.body().length);
            if (r.body().length > 0) {
              try (OutputStream out = ex.getResponseBody()) {
                out.write(r.body());
              }
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          } finally {
            ex.close();
          }
        });
    server.start();
  }

  void up(boolean value) {
    up = value;
  }

  void upstream(String url) {
    upstream = url;
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
