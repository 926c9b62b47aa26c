package org.teekms.kms.grpc;

import io.grpc.stub.StreamObserver;
import io.smallrye.mutiny.Uni;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.jboss.logging.Logger;

/**
 * Answers a unary call from a Uni without blocking the calling (event-loop) thread: the answer goes out when the Uni
 * completes; a refusal ({@code AdmissionDenied}) is answered with its code and reason; a failure is logged and answered as INTERNAL with its one-line reason; past {@code timeout} the call is
 * answered as failed (the database or chain did not answer).
 */
final class UniAnswer {

  private UniAnswer() {}

  static <T> void answer(String method, Uni<T> answer, Duration timeout, StreamObserver<T> out, Logger log) {
    answer.ifNoItem().after(timeout).failWith(() -> new TimeoutException(method + " got no answer within " + timeout))
        .subscribe().with(item -> {
          out.onNext(item);
          out.onCompleted();
        }, failure -> {
          if (failure instanceof org.teekms.kms.admission.AdmissionDenied d) {
            out.onError(GrpcErrors.denied(d)); // a refusal with its reason (e.g. RATE_LIMITED), not a failure
            return;
          }
          log.errorf(failure, "%s failed", method);
          out.onError(GrpcErrors.internal(method, failure));
        });
  }
}
