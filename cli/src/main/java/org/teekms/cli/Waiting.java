package org.teekms.cli;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.PrintWriter;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Progress on stderr for every wait longer than a second (a KMS call, a PCS/PCCS fetch): one line
 * after a second, then one every 5 s, until the wait ends. Nothing is printed for waits that end
 * sooner, and never on stdout (which carries the result).
 */
final class Waiting implements AutoCloseable {
  private static final ScheduledExecutorService TIMER =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "teekms-waiting");
            t.setDaemon(true);
            return t;
          });

  private final ScheduledFuture<?> task;

  private Waiting(ScheduledFuture<?> task) {
    this.task = task;
  }

  /**
   * Starts reporting "{@code prefix}: {@code what} (N s)" after a second, every 5 s; {@link #close}
   * stops it.
   */
  static Waiting start(PrintWriter err, String prefix, String what) {
    long start = System.nanoTime();
    return new Waiting(
        TIMER.scheduleAtFixedRate(
            () -> {
              synchronized (err) {
                err.println(
                    prefix
                        + ": "
                        + what
                        + " ("
                        + (System.nanoTime() - start) / 1_000_000_000L
                        + " s)");
                err.flush();
              }
            },
            1,
            5,
            TimeUnit.SECONDS));
  }

  @Override
  public void close() {
    task.cancel(false);
  }

  /**
   * Reports every gRPC call of a channel that takes longer than a second (for {@code
   * NettyChannelBuilder.intercept}).
   */
  static ClientInterceptor grpc(PrintWriter err, String prefix, String target) {
    return new ClientInterceptor() {
      @Override
      public <Q, R> ClientCall<Q, R> interceptCall(
          MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(
            next.newCall(method, options)) {
          @Override
          public void start(Listener<R> listener, Metadata headers) {
            Waiting waiting =
                Waiting.start(
                    err, prefix, "waiting for " + target + " (" + method.getBareMethodName() + ")");
            super.start(
                new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                  @Override
                  public void onClose(Status status, Metadata trailers) {
                    waiting.close();
                    super.onClose(status, trailers);
                  }
                },
                headers);
          }
        };
      }
    };
  }
}
