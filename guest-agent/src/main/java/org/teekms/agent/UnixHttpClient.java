package org.teekms.agent;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An HTTP/1.1 + JSON client of the agent's unix sockets (the key API, the admin socket): the Vert.x
 * HTTP client over Netty's native epoll transport, the same transport {@code GuestApiServer} serves
 * on. Answers are read up to {@link #MAX_BODY_BYTES}; a larger one is an error, not a truncated
 * body.
 */
public final class UnixHttpClient implements AutoCloseable {
  /** Status and body of a response. */
  public record Response(int status, String body) {}

  public static final int MAX_BODY_BYTES = 1024 * 1024;
  private static final long TIMEOUT_SECONDS = 60;

  private final Vertx vertx;
  private final boolean ownsVertx;
  private final HttpClient client;
  private final SocketAddress address;
  private final Path socket;
  private final Context context;

  private UnixHttpClient(Vertx vertx, boolean ownsVertx, Path socket) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.ownsVertx = ownsVertx;
    this.socket = socket;
    this.address = SocketAddress.domainSocketAddress(socket.toAbsolutePath().toString());
    this.client =
        vertx.createHttpClient(
            new HttpClientOptions()
                .setMaxPoolSize(1)
                .setConnectTimeout((int) TimeUnit.SECONDS.toMillis(10)));
  }

  /**
   * A client of {@code socket}; fails when Netty's native transport (needed for unix sockets) is
   * missing.
   */
  public static UnixHttpClient open(Path socket) throws IOException {
    Vertx vertx =
        Vertx.vertx(
            new VertxOptions()
                .setPreferNativeTransport(true)
                .setEventLoopPoolSize(1)
                .setWorkerPoolSize(1)
                .setInternalBlockingPoolSize(1));
    if (!vertx.isNativeTransportEnabled()) {
      Throwable cause = vertx.unavailableNativeTransportCause();
      vertx.close();
      throw new IOException("unix sockets need Netty's native epoll transport: " + cause);
    }
    return new UnixHttpClient(vertx, true, socket);
  }

  /**
   * A client of {@code socket} on an existing Vert.x instance (with native transport), which
   * close() leaves open.
   */
  public static UnixHttpClient on(Vertx vertx, Path socket) throws IOException {
    if (!vertx.isNativeTransportEnabled()) {
      throw new IOException(
          "unix sockets need Netty's native epoll transport: "
              + vertx.unavailableNativeTransportCause());
    }
    return new UnixHttpClient(vertx, false, socket);
  }

  /** One request on a fresh client (the {@code teekms-agent disk} commands, the demo). */
  public static Response post(Path socket, String path, String json) throws IOException {
    try (UnixHttpClient c = open(socket)) {
      return c.post(path, json);
    }
  }

  /**
   * POSTs {@code json} to {@code path}; any transport failure or an oversized answer is an
   * IOException.
   */
  public Response post(String path, String json) throws IOException {
    RequestOptions options =
        new RequestOptions()
            .setServer(address)
            .setMethod(HttpMethod.POST)
            .setHost("localhost")
            .setURI(path)
            .putHeader("Content-Type", "application/json");
    Buffer body = Buffer.buffer(json.getBytes(StandardCharsets.UTF_8));
    Promise<Response> answer = Promise.promise();
    // The request is made from this client's own context, and read() is chained inside the
    // request's callback: then
    // the response future completes on the thread that parses the response, and read() sets its
    // handlers before the
    // first chunk. Made from a caller's thread, that continuation is queued as a task, and a short
    // answer (a 413 sent
    // while the request body is still being written) can end before it runs; setting a handler then
    // throws.
    context.runOnContext(
        v ->
            client
                .request(options)
                .compose(req -> req.send(body).compose(UnixHttpClient::read))
                .onComplete(answer));
    try {
      return answer
          .future()
          .toCompletionStage()
          .toCompletableFuture()
          .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new IOException(
          socket
              + ": "
              + (cause.getMessage() == null
                  ? cause.getClass().getSimpleName()
                  : cause.getMessage()),
          cause);
    } catch (TimeoutException e) {
      throw new IOException(socket + ": no answer within " + TIMEOUT_SECONDS + " s", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(socket + ": interrupted", e);
    }
  }

  private static Future<Response> read(HttpClientResponse resp) {
    Promise<Response> done = Promise.promise();
    Buffer body = Buffer.buffer();
    resp.handler(
        chunk -> {
          if (body.length() + chunk.length() > MAX_BODY_BYTES) {
            done.tryFail("answer larger than " + MAX_BODY_BYTES + " bytes");
            resp.request().reset();
          } else {
            body.appendBuffer(chunk);
          }
        });
    resp.exceptionHandler(done::tryFail);
    resp.endHandler(
        v ->
            done.tryComplete(
                new Response(resp.statusCode(), body.toString(StandardCharsets.UTF_8))));
    return done.future();
  }

  @Override
  public void close() {
    // Each close is awaited from the calling thread: a continuation chained onto the client's close
    // would run on an
    // event loop that vertx.close() is shutting down, and never complete.
    await(client.close());
    if (ownsVertx) {
      await(vertx.close());
    }
  }

  private static void await(Future<Void> closing) {
    try {
      closing.toCompletionStage().toCompletableFuture().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      // Closing only releases threads and sockets of this client; nothing to report to the caller.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
