package org.teekms.kms.db;

import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.util.function.Function;
import java.util.function.Supplier;
import org.hibernate.reactive.mutiny.Mutiny;

/**
 * Hibernate Reactive sessions for the KMS's entity-like state (grants, key versions, root
 * generations and their sealed copies, rotation jobs). Each unit of work gets a session of its own,
 * opened and closed here, never one stored in the caller's Vert.x context: the group commit runs
 * transactions on behalf of many requests, and a request's context must not lend it (or take over)
 * a session. The work runs on the session's event-loop thread; it must not block and must not hop
 * threads (Hibernate Reactive refuses a session used from another thread). Callable from any
 * thread: from a worker (admission after derivation) the unit of work is moved onto a Vert.x event
 * loop first, since Hibernate Reactive opens sessions only there (Quarkus enforces it; so do the
 * tests, with {@code org.hibernate.reactive.common.InternalStateAssertions.ENFORCE}).
 */
public final class StateSessions {

  private final Mutiny.SessionFactory factory;
  private final Vertx vertx;

  public StateSessions(Mutiny.SessionFactory factory, Vertx vertx) {
    this.factory = factory;
    this.vertx = vertx;
  }

  /**
   * Runs {@code work} in one transaction of a fresh session: committed when the Uni completes,
   * rolled back if it fails.
   */
  public <T> Uni<T> inTransaction(Function<Mutiny.Session, Uni<T>> work) {
    return onEventLoop(
        () ->
            factory
                .openSession()
                .chain(
                    session ->
                        session
                            .withTransaction(tx -> work.apply(session))
                            .eventually(session::close)));
  }

  /**
   * Runs read-only {@code work} in a fresh session (no transaction of ours; each statement sees
   * committed data).
   */
  public <T> Uni<T> read(Function<Mutiny.Session, Uni<T>> work) {
    return onEventLoop(
        () ->
            factory.openSession().chain(session -> work.apply(session).eventually(session::close)));
  }

  /**
   * Runs blocking {@code work} (chain reads, file I/O, a key split) on the worker pool from inside
   * a unit of work, and resumes on the caller's Vert.x context, i.e. the session's thread:
   * Hibernate Reactive refuses a session used from any other thread.
   */
  public static <T> Uni<T> blocking(Supplier<T> work) {
    return Uni.createFrom()
        .deferred(
            () -> {
              Context context = Vertx.currentContext();
              Uni<T> onWorker =
                  Uni.createFrom()
                      .item(work)
                      .runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
              return context == null
                  ? onWorker
                  : onWorker.emitOn(task -> context.runOnContext(ignored -> task.run()));
            });
  }

  private <T> Uni<T> onEventLoop(Supplier<Uni<? extends T>> work) {
    if (Context.isOnEventLoopThread()) {
      return Uni.createFrom().<T>deferred(work);
    }
    Context context = vertx.getOrCreateContext();
    return Uni.createFrom()
        .<T>deferred(work)
        .runSubscriptionOn(task -> context.runOnContext(ignored -> task.run()));
  }
}
