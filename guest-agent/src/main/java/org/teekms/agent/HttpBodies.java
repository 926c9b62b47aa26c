package org.teekms.agent;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;

/**
 * Reads a request body with a size limit; a body over the limit fails the future with {@link
 * TooLarge}.
 */
public final class HttpBodies {
  /** The body exceeded the limit. */
  public static final class TooLarge extends RuntimeException {
    private static final long serialVersionUID = 1L;

    TooLarge(long limit) {
      super("request body exceeds " + limit + " bytes");
    }
  }

  private HttpBodies() {}

  public static Future<Buffer> read(HttpServerRequest request, long maxBytes) {
    Promise<Buffer> promise = Promise.promise();
    String declared = request.getHeader("Content-Length");
    if (declared != null) {
      try {
        if (Long.parseLong(declared.trim()) > maxBytes) {
          promise.fail(new TooLarge(maxBytes));
          return promise.future();
        }
      } catch (NumberFormatException e) {
        promise.fail(new IllegalArgumentException("malformed Content-Length"));
        return promise.future();
      }
    }
    Buffer body = Buffer.buffer();
    request.handler(
        chunk -> {
          if (promise.future().isComplete()) {
            return;
          }
          if ((long) body.length() + chunk.length() > maxBytes) {
            promise.tryFail(new TooLarge(maxBytes));
            return;
          }
          body.appendBuffer(chunk);
        });
    request.endHandler(v -> promise.tryComplete(body));
    request.exceptionHandler(promise::tryFail);
    return promise.future();
  }
}
