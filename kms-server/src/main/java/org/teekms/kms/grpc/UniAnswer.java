package org.teekms.kms.grpc;

import io.grpc.stub.StreamObserver;
import io.smallrye.mutiny.Uni;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.jboss.logging.Logger;
import org.teekms.kms.admission.AdmissionDenied;

/**
 * Answers a unary call from a Uni without blocking the calling (event-loop) thread: the answer goes
 * out when the Uni completes; a refusal ({@link AdmissionDenied}) is answered with its code and
 * reason; any other failure is logged and answered as INTERNAL with its one-line reason; past
 * {@code timeout} the call is answered as failed (the database or chain did not answer).
 */
final class UniAnswer {

  private UniAnswer() {}

  static <T> void answer(
      String method, Uni<T> answer, Duration timeout, StreamObserver<T> out, Logger log) {
    answer(
        method,
        answer
            .ifNoItem()
            .after(timeout)
            .failWith(() -> new TimeoutException(method + " got no answer within " + timeout)),
        out,
        log);
  }

  /** As above, for a Uni whose steps carry their own time limits. */
  static <T> void answer(String method, Uni<T> answer, StreamObserver<T> out, Logger log) {
    answer
        .subscribe()
        .with(
            item -> {
              out.onNext(item);
              out.onCompleted();
            },
            failure -> {
              if (failure instanceof AdmissionDenied d) {
                log.debugf("%s refused: %s: %s", method, d.code(), d.detail());
                out.onError(GrpcErrors.denied(d));
              } else {
                log.errorf(failure, "%s failed", method);
                out.onError(GrpcErrors.internal(method, failure));
              }
            });
  }
}
