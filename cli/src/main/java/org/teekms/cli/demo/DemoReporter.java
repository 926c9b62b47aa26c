package org.teekms.cli.demo;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Prints the demo as it runs: a numbered header per step, indented detail lines, a heartbeat while
 * a slow step waits, the step's outcome with its duration, and a final summary. A failed step fails
 * the run; steps after it that need its result are reported as skipped.
 */
final class DemoReporter {
  enum Outcome {
    OK,
    FAILED,
    SKIPPED
  }

  record StepResult(int number, String title, Outcome outcome, String note, Duration took) {}

  /** One step's action; throwing fails the step with the exception's message. */
  @FunctionalInterface
  interface Action {
    void run() throws Exception;
  }

  private final PrintWriter out;
  private final int total;
  private final List<StepResult> results = new ArrayList<>();
  private boolean failed;

  /** A line of progress dots is open: the next output starts on a new line. */
  private boolean ticking;

  DemoReporter(PrintWriter out, int total) {
    this.out = out;
    this.total = total;
  }

  /**
   * Runs {@code action} unless an earlier step failed (then it is skipped: it depends on what
   * failed).
   */
  boolean step(String title, Action action) {
    int n = results.size() + 1;
    if (failed) {
      results.add(
          new StepResult(n, title, Outcome.SKIPPED, "an earlier step failed", Duration.ZERO));
      return false;
    }
    out.printf(Locale.ROOT, "%n[%d/%d] %s%n", n, total, title);
    out.flush();
    long start = System.nanoTime();
    try {
      action.run();
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      endTicks();
      out.printf(Locale.ROOT, "      ok (%s)%n", seconds(took));
      results.add(new StepResult(n, title, Outcome.OK, "", took));
      return true;
    } catch (Exception e) {
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      endTicks();
      String why = e.getMessage() == null ? e.toString() : e.getMessage();
      out.printf(Locale.ROOT, "      FAILED (%s): %s%n", seconds(took), why);
      results.add(new StepResult(n, title, Outcome.FAILED, why, took));
      failed = true;
      return false;
    } finally {
      out.flush();
    }
  }

  /** A fact established by the current step. */
  void detail(String format, Object... args) {
    endTicks();
    out.printf(Locale.ROOT, "      " + format + "%n", args);
    out.flush();
  }

  /** Progress during a slow wait: one dot per call, on the current line. */
  void tick() {
    out.print(ticking ? "." : "      .");
    ticking = true;
    out.flush();
  }

  void endTicks() {
    if (ticking) {
      out.println();
      out.flush();
      ticking = false;
    }
  }

  /** Whether a step failed so far. */
  boolean anyFailed() {
    return failed;
  }

  /** The summary table; returns the exit status (0 when every step passed). */
  int summary(Duration total) {
    out.printf(Locale.ROOT, "%n==== tee-kms demo summary (%s) ====%n", seconds(total));
    for (StepResult r : results) {
      out.printf(
          Locale.ROOT,
          "  %-7s %2d. %s%s%n",
          r.outcome(),
          r.number(),
          r.title(),
          r.note().isEmpty() ? "" : "  -- " + r.note());
    }
    long ok = results.stream().filter(r -> r.outcome() == Outcome.OK).count();
    boolean allRan = results.size() == this.total;
    out.printf(Locale.ROOT, "%d of %d steps passed%n", ok, this.total);
    out.flush();
    return failed || !allRan || ok != this.total ? 1 : 0;
  }

  private static String seconds(Duration d) {
    return String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
  }
}
