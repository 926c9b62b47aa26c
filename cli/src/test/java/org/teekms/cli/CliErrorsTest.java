package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** What escapes a command reaches the user as one line without Java internals, exit 1. */
class CliErrorsTest {
  @Command(name = "boom")
  static final class Boom implements Callable<Integer> {
    final Exception thrown;

    Boom(Exception thrown) {
      this.thrown = thrown;
    }

    @Override
    public Integer call() throws Exception {
      throw thrown;
    }
  }

  private static String[] run(Exception thrown) {
    StringWriter err = new StringWriter();
    CommandLine cli =
        new CommandLine(new Boom(thrown)).setExecutionExceptionHandler(new CliErrors());
    cli.setErr(new PrintWriter(err, true));
    int exit = cli.execute();
    return new String[] {Integer.toString(exit), err.toString()};
  }

  static Stream<Arguments> escapedExceptions() {
    return Stream.of(
        Arguments.of(
            new RuntimeException(
                "cannot reach the KMS at kms-1:8443",
                Status.UNAVAILABLE
                    .withDescription("io exception")
                    .withCause(new ConnectException("Connection refused"))
                    .asRuntimeException()),
            "boom: cannot reach the KMS at kms-1:8443 (UNAVAILABLE: io exception: connection refused (nothing listens "
                + "there, or a firewall rejects it))"),
        Arguments.of(
            new UncheckedIOException(new NoSuchFileException("/tmp/collateral/tcb_info.json")),
            "boom: no such file: /tmp/collateral/tcb_info.json"),
        Arguments.of(
            new IllegalStateException(
                "fetching collateral from https://pccs.example:8081",
                new UnknownHostException("pccs.example")),
            "boom: fetching collateral from https://pccs.example:8081 (unknown host pccs.example)"),
        Arguments.of(
            new NullPointerException(),
            "boom: failed without a reason (NullPointerException); TEEKMS_DEBUG=1 shows where"),
        Arguments.of(
            new IllegalArgumentException("line one\n  line two"), "boom: line one line two"));
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("escapedExceptions")
  void escapedExceptionsBecomeOneReadableLine(Exception thrown, String line) {
    String[] r = run(thrown);
    assertEquals("1", r[0], r[1]);
    assertEquals(line + System.lineSeparator(), r[1]);
    assertFalse(
        r[1].contains("\tat ") || r[1].contains("Exception:") || r[1].contains("io.grpc"), r[1]);
    assertEquals(1, r[1].lines().count(), r[1]);
  }

  @Test
  void theTeekmsCommandLineUsesIt() {
    assertTrue(TeeKmsCli.newCommandLine().getExecutionExceptionHandler() instanceof CliErrors);
  }
}
