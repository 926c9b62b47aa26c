package org.teekms.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Vert.x unix-socket client: a round trip, a refused oversized answer, a missing socket as a
 * one-line error.
 */
class UnixHttpClientTest {
  @TempDir Path dir;

  @Test
  void postsJsonAndReadsTheAnswerButRefusesAnOversizedOne() throws Exception {
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    Path socket = dir.resolve("api.sock");
    HttpServer server =
        vertx
            .createHttpServer()
            .requestHandler(
                req ->
                    req.body()
                        .onSuccess(
                            body -> {
                              if (req.path().equals("/big")) {
                                req.response().end("x".repeat(UnixHttpClient.MAX_BODY_BYTES + 1));
                              } else {
                                req.response()
                                    .setStatusCode(req.method().name().equals("POST") ? 201 : 405)
                                    .end(
                                        req.path()
                                            + " "
                                            + req.getHeader("Content-Type")
                                            + " "
                                            + body);
                              }
                            }));
    try {
      server
          .listen(SocketAddress.domainSocketAddress(socket.toString()))
          .toCompletionStage()
          .toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
      UnixHttpClient.Response r = UnixHttpClient.post(socket, "/Info", "{\"a\":\"ü\"}");
      assertEquals(201, r.status());
      assertEquals("/Info application/json {\"a\":\"ü\"}", r.body());
      try (UnixHttpClient client = UnixHttpClient.on(vertx, socket)) {
        assertEquals(201, client.post("/GetKey", "{}").status());
        IOException big = assertThrows(IOException.class, () -> client.post("/big", "{}"));
        assertTrue(
            big.getMessage().contains("larger than " + UnixHttpClient.MAX_BODY_BYTES),
            big.getMessage());
        assertEquals(
            201,
            client.post("/again", "{}").status(),
            "the client is usable after a refused answer");
      }
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aMissingSocketIsAnIoExceptionNamingIt() {
    Path missing = dir.resolve("absent.sock");
    IOException e =
        assertThrows(IOException.class, () -> UnixHttpClient.post(missing, "/Info", "{}"));
    assertTrue(e.getMessage().startsWith(missing.toString()), e.getMessage());
    assertTrue(!e.getMessage().contains("\n"), e.getMessage());
  }
}
