package org.teekms.agent.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.teekms.agent.HttpBodies;

/**
 * Serves {@link GuestApi} as HTTP/1.1 + JSON on a unix domain socket (Vert.x over Netty's native
 * epoll transport). The socket is bound under a temporary name, given its mode and owner, and only
 * then renamed to its final path, so it is never reachable with looser permissions. Who can connect
 * = who may write to the socket file; see guest-agent/README.md.
 */
public final class GuestApiServer implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(GuestApiServer.class.getName());

  /**
   * Socket path, file mode (e.g. "rw-rw----"), optional owner and group names, request body limit.
   */
  public record Settings(
      Path socket, String mode, Optional<String> owner, Optional<String> group, int maxBodyBytes) {
    public Settings {
      Objects.requireNonNull(socket, "socket");
      PosixFilePermissions.fromString(mode); // validates
    }

    public static Settings defaults(Path socket) {
      return new Settings(socket, "rw-rw----", Optional.empty(), Optional.empty(), 64 * 1024);
    }
  }

  private final Vertx vertx;
  private final HttpServer server;
  private final Path socket;

  private GuestApiServer(Vertx vertx, HttpServer server, Path socket) {
    this.vertx = vertx;
    this.server = server;
    this.socket = socket;
  }

  public static GuestApiServer start(Vertx vertx, JsonApi api, Settings s) throws IOException {
    if (!vertx.isNativeTransportEnabled()) {
      throw new IOException(
          "unix sockets need Netty's native epoll transport: "
              + vertx.unavailableNativeTransportCause());
    }
    Path target = s.socket().toAbsolutePath();
    if (Files.exists(target, LinkOption.NOFOLLOW_LINKS) && !isSocket(target)) {
      throw new IOException(target + " exists and is not a socket; refusing to replace it");
    }
    if (target.getParent() != null && Files.notExists(target.getParent())) {
      Files.createDirectories(
          target.getParent(),
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-x--x")));
    }
    Path temp = target.resolveSibling("." + target.getFileName() + ".binding");
    Files.deleteIfExists(temp);
    HttpServer server =
        vertx.createHttpServer().requestHandler(req -> serve(vertx, api, s.maxBodyBytes(), req));
    try {
      server
          .listen(SocketAddress.domainSocketAddress(temp.toString()))
          .toCompletionStage()
          .toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
      Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString(s.mode()));
      UserPrincipalLookupService users = FileSystems.getDefault().getUserPrincipalLookupService();
      if (s.owner().isPresent()) {
        Files.setOwner(temp, users.lookupPrincipalByName(s.owner().get()));
      }
      if (s.group().isPresent()) {
        Files.getFileAttributeView(temp, PosixFileAttributeView.class)
            .setGroup(users.lookupPrincipalByGroupName(s.group().get()));
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (Exception e) {
      server.close();
      Files.deleteIfExists(temp);
      throw e instanceof IOException io
          ? io
          : new IOException("cannot serve on " + target + ": " + e.getMessage(), e);
    }
    LOG.info("guest API listening on unix:" + target + " mode " + s.mode());
    return new GuestApiServer(vertx, server, target);
  }

  private static boolean isSocket(Path p) throws IOException {
    Object other = Files.readAttributes(p, "unix:mode", LinkOption.NOFOLLOW_LINKS).get("mode");
    return other instanceof Integer mode && (mode & 0170000) == 0140000;
  }

  private static void serve(Vertx vertx, JsonApi api, int maxBody, HttpServerRequest req) {
    String path = req.path();
    String method = path.startsWith("/") ? path.substring(1) : path;
    if (method.startsWith("prpc/")) { // dstack also serves /prpc/<Method>
      method = method.substring(5);
    }
    final String m = method;
    if (req.method() == HttpMethod.GET) {
      ObjectNode body = GuestApi.JSON.createObjectNode();
      req.params().forEach(e -> body.put(e.getKey(), e.getValue()));
      respond(vertx, api, m, body, req);
      return;
    }
    if (req.method() != HttpMethod.POST) {
      send(req, 405, error("use POST or GET"));
      return;
    }
    HttpBodies.read(req, maxBody)
        .onComplete(
            ar -> {
              if (ar.failed()) {
                send(
                    req,
                    ar.cause() instanceof HttpBodies.TooLarge ? 413 : 400,
                    error(ar.cause().getMessage()));
                return;
              }
              JsonNode body;
              try {
                Buffer b = ar.result();
                body = b.length() == 0 ? null : GuestApi.JSON.readTree(b.getBytes());
              } catch (IOException e) {
                send(req, 400, error("request body is not JSON"));
                return;
              }
              respond(vertx, api, m, body, req);
            });
  }

  private static void respond(
      Vertx vertx, JsonApi api, String method, JsonNode body, HttpServerRequest req) {
    vertx
        .<ObjectNode>executeBlocking(() -> api.handle(method, body), false)
        .onComplete(
            ar -> {
              if (ar.succeeded()) {
                send(req, 200, ar.result());
              } else if (ar.cause() instanceof ApiException e) {
                send(req, e.status(), error(e.getMessage()));
              } else {
                LOG.warning(method + " failed: " + ar.cause());
                send(req, 500, error("internal error"));
              }
            });
  }

  private static ObjectNode error(String message) {
    ObjectNode o = GuestApi.JSON.createObjectNode();
    o.put("error", message);
    return o;
  }

  /**
   * Answers are pure ASCII (non-ASCII characters escaped as \\uXXXX): dstack's JS client reads a
   * unix-socket response until it has Content-Length <em>characters</em>, so a UTF-8 body with
   * multi-byte characters would never end.
   */
  private static final com.fasterxml.jackson.databind.ObjectMapper ASCII_JSON =
      com.fasterxml.jackson.databind.json.JsonMapper.builder()
          .enable(com.fasterxml.jackson.core.json.JsonWriteFeature.ESCAPE_NON_ASCII)
          .build();

  private static void send(HttpServerRequest req, int status, ObjectNode body) {
    String json;
    try {
      json = ASCII_JSON.writeValueAsString(body);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      status = 500;
      json = "{\"error\":\"cannot encode the answer\"}";
    }
    req.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(json);
  }

  public Path socket() {
    return socket;
  }

  @Override
  public void close() {
    try {
      server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warning("closing the guest API: " + e);
    }
    try {
      Files.deleteIfExists(socket);
    } catch (IOException e) {
      LOG.warning("removing " + socket + ": " + e);
    }
  }

  Vertx vertx() {
    return vertx;
  }

  static Set<PosixFilePermission> perms(String mode) {
    return PosixFilePermissions.fromString(mode);
  }
}
