package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.teekms.attest.Fixtures;
import picocli.CommandLine;

/**
 * The inputs people get wrong (issue #18 item 9), each with its exact exit code and the words it
 * must produce, and never a Java exception name or stack frame on either stream. Exit 2 is a usage
 * error (the wrong file or a malformed value); exit 1 is a verification or connection that failed.
 */
class BadInputTableTest {
  @TempDir static Path dir;
  static String pem;
  static String notJson;
  static String deadPort;
  static String custodianKey;

  private static final String QUOTE = Fixtures.path("dcap-qvl/tdx_quote_v4.bin").toString();
  private static final String COLLATERAL =
      Fixtures.path("dcap-qvl/tdx_quote_v4_collateral.json").toString();

  @BeforeAll
  static void files() throws IOException {
    pem =
        Files.writeString(
                dir.resolve("server.pem"),
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                StandardCharsets.US_ASCII)
            .toString();
    custodianKey =
        Files.writeString(dir.resolve("custodian.key"), "11".repeat(32) + "\n").toString();
    notJson = Files.writeString(dir.resolve("collateral.json"), "tcb_info: yes\n").toString();
    try (ServerSocket s = new ServerSocket(0)) {
      deadPort = Integer.toString(s.getLocalPort()); // closed again below: nothing listens there
    }
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of(
            "PEM given as a quote",
            2,
            "is a PEM certificate, not a quote",
            new String[] {"verify", "quote", "--quote", pem, "--collateral", COLLATERAL}),
        Arguments.of(
            "PEM given as collateral",
            2,
            "is a PEM certificate, not collateral",
            new String[] {"verify", "quote", "--quote", QUOTE, "--collateral", pem}),
        Arguments.of(
            "missing collateral file",
            2,
            "does not exist: expected a dcap-qvl collateral JSON file",
            new String[] {
              "verify",
              "quote",
              "--quote",
              QUOTE,
              "--collateral",
              dir.resolve("nope.json").toString()
            }),
        Arguments.of(
            "collateral that is not JSON",
            1,
            "collateral file is not valid JSON (line 1, column",
            new String[] {"verify", "quote", "--quote", QUOTE, "--collateral", notJson}),
        Arguments.of(
            "unreachable PCCS",
            1,
            "127.0.0.1:"
                + deadPort
                + "/tdx/certification/v4/tcb?fmspc=B0C06F000000: "
                + "connection refused",
            new String[] {
              "verify", "quote", "--quote", QUOTE, "--pccs", "https://127.0.0.1:" + deadPort + "/"
            }),
        Arguments.of(
            "malformed PCCS URL",
            2,
            "--pccs 'ht!tp:/x' is not a URL",
            new String[] {"verify", "quote", "--quote", QUOTE, "--pccs", "ht!tp:/x"}),
        Arguments.of(
            "unreachable KMS",
            1,
            "cannot reach the KMS at 127.0.0.1:" + deadPort + ": connection refused",
            new String[] {
              "audit",
              "verify",
              "--kms",
              "127.0.0.1:" + deadPort,
              "--collateral",
              COLLATERAL,
              "--timeout",
              "10"
            }),
        Arguments.of(
            "KMS address without a port",
            2,
            "--kms must be HOST:PORT",
            new String[] {"audit", "verify", "--kms", "kms.example", "--collateral", COLLATERAL}),
        Arguments.of(
            "unreachable chain RPC",
            1,
            "chain RPC unreachable at http://127.0.0.1:" + deadPort + ": connection refused",
            new String[] {
              "gov",
              "show-registry",
              "--rpc-url",
              "http://127.0.0.1:" + deadPort,
              "--chain-id",
              "31337",
              "--registry",
              "0x0000000000000000000000000000000000000001"
            }),
        Arguments.of(
            "custodian key file that is not a key",
            2,
            "is not a custodian key (64 hex characters",
            new String[] {
              "custody",
              "check-share",
              "--rpc-url",
              "http://127.0.0.1:" + deadPort,
              "--chain-id",
              "31337",
              "--custody",
              "0x0000000000000000000000000000000000000001",
              "--key-file",
              pem,
              "--store",
              dir.toString(),
              "--generation",
              "1",
              "--index",
              "1"
            }),
        Arguments.of(
            "custodian index out of range",
            2,
            "--index must be 1..255",
            new String[] {
              "custody",
              "check-share",
              "--rpc-url",
              "http://127.0.0.1:" + deadPort,
              "--chain-id",
              "31337",
              "--custody",
              "0x0000000000000000000000000000000000000001",
              "--key-file",
              pem,
              "--store",
              dir.toString(),
              "--generation",
              "1",
              "--index",
              "0"
            }),
        Arguments.of(
            "custodian check with the chain down",
            1,
            "chain RPC unreachable at http://127.0.0.1:" + deadPort,
            new String[] {
              "custody",
              "check-share",
              "--rpc-url",
              "http://127.0.0.1:" + deadPort,
              "--chain-id",
              "31337",
              "--custody",
              "0x0000000000000000000000000000000000000001",
              "--key-file",
              custodianKey,
              "--store",
              dir.toString(),
              "--generation",
              "1",
              "--index",
              "1"
            }),
        Arguments.of(
            "recovery request id that is not 32 bytes",
            2,
            "--request must be 32 bytes of hex",
            new String[] {
              "custody",
              "release",
              "--rpc-url",
              "http://127.0.0.1:" + deadPort,
              "--chain-id",
              "31337",
              "--custody",
              "0x0000000000000000000000000000000000000001",
              "--key-file",
              custodianKey,
              "--store",
              dir.toString(),
              "--generation",
              "1",
              "--index",
              "1",
              "--registry",
              "0x0000000000000000000000000000000000000002",
              "--request",
              "0x1234",
              "--node-cert",
              pem,
              "--collateral",
              COLLATERAL,
              "--mr-system",
              "00".repeat(32),
              "--out",
              dir.resolve("o").toString()
            }),
        Arguments.of(
            "share release both to a node and to a file",
            2,
            "--to-node replaces --node-cert and --out",
            new String[] {
              "custody",
              "release",
              "--rpc-url",
              "http://127.0.0.1:" + deadPort,
              "--chain-id",
              "31337",
              "--custody",
              "0x0000000000000000000000000000000000000001",
              "--key-file",
              custodianKey,
              "--store",
              dir.toString(),
              "--generation",
              "1",
              "--index",
              "1",
              "--registry",
              "0x0000000000000000000000000000000000000002",
              "--request",
              "0x" + "11".repeat(32),
              "--node-cert",
              pem,
              "--collateral",
              COLLATERAL,
              "--mr-system",
              "00".repeat(32),
              "--to-node",
              "127.0.0.1:" + deadPort
            }),
        Arguments.of(
            "share release with nowhere to send it",
            2,
            "give --to-node HOST:PORT, or --node-cert FILE and --out FILE",
            new String[] {
              "custody",
              "release",
              "--rpc-url",
              "http://127.0.0.1:" + deadPort,
              "--chain-id",
              "31337",
              "--custody",
              "0x0000000000000000000000000000000000000001",
              "--key-file",
              custodianKey,
              "--store",
              dir.toString(),
              "--generation",
              "1",
              "--index",
              "1",
              "--registry",
              "0x0000000000000000000000000000000000000002",
              "--request",
              "0x" + "11".repeat(32),
              "--node-cert",
              pem,
              "--collateral",
              COLLATERAL,
              "--mr-system",
              "00".repeat(32)
            }),
        Arguments.of(
            "custodian public key off the curve",
            2,
            "recipient public key is not a point on the curve",
            new String[] {
              "gov",
              "register-custodian",
              "--rpc-url",
              "http://127.0.0.1:" + deadPort,
              "--chain-id",
              "31337",
              "--custody",
              "0x0000000000000000000000000000000000000001",
              "--public-key",
              "04" + "00".repeat(64),
              "--kind",
              "hsm",
              "--name",
              "x",
              "--calldata-only"
            }),
        Arguments.of(
            "status of an unreachable KMS",
            1,
            "cannot reach the KMS at 127.0.0.1:" + deadPort + ": connection refused",
            new String[] {
              "kms",
              "status",
              "--kms",
              "127.0.0.1:" + deadPort,
              "--collateral",
              COLLATERAL,
              "--timeout",
              "10"
            }),
        Arguments.of(
            "status of a KMS address without a port",
            2,
            "--kms must be HOST:PORT",
            new String[] {"kms", "status", "--kms", "kms.example", "--collateral", COLLATERAL}),
        Arguments.of(
            "status without collateral",
            2,
            "--collateral",
            new String[] {"kms", "status", "--kms", "127.0.0.1:" + deadPort}),
        Arguments.of(
            "status warning window that is not a duration",
            2,
            "'soon' is not a duration (e.g. 6h, 30m, PT6H)",
            new String[] {
              "kms",
              "status",
              "--kms",
              "127.0.0.1:" + deadPort,
              "--collateral",
              COLLATERAL,
              "--warn-before",
              "soon"
            }),
        Arguments.of(
            "unknown output format",
            2,
            "Invalid value for option '--output'",
            new String[] {
              "verify", "quote", "--quote", QUOTE, "--collateral", COLLATERAL, "--output", "yaml"
            }),
        Arguments.of(
            "calldata with the chain down",
            1,
            "chain RPC unreachable at http://127.0.0.1:" + deadPort,
            new String[] {
              "gov",
              "add-compose-hash",
              "--rpc-url",
              "http://127.0.0.1:" + deadPort,
              "--chain-id",
              "31337",
              "--app",
              "0x0000000000000000000000000000000000000001",
              "--hash",
              "0x" + "ab".repeat(32),
              "--print-calldata"
            }),
        Arguments.of(
            "unknown subcommand", 2, "Unmatched argument", new String[] {"verify", "qoute"}));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void badInputGetsItsExitCodeAndOneReadableReason(
      String what, int exit, String words, String[] args) {
    CommandLine cli = TeeKmsCli.newCommandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute(args);
    String both = out + "\n" + err;
    assertEquals(exit, code, both);
    assertTrue(both.contains(words), "expected \"" + words + "\" in:\n" + both);
    assertFalse(
        both.matches("(?s).*(Exception|\\bat (org|io|java)\\.|java\\.net\\.|io\\.netty).*"),
        "Java internals leaked:\n" + both);
    if (exit == 2) {
      // One line with the reason, picocli's "Did you mean" suggestions where it has some, then
      // where the help is.
      java.util.List<String> lines = err.toString().strip().lines().toList();
      assertTrue(
          lines.get(0).startsWith("teekms ") && lines.get(0).contains(words), err.toString());
      assertTrue(
          lines.get(lines.size() - 1).matches("\\(see 'teekms [a-z -]+ --help'\\)"),
          err.toString());
      assertTrue(
          lines.stream()
              .skip(1)
              .limit(lines.size() - 2L)
              .allMatch(l -> l.startsWith("Did you mean") || l.startsWith("    ")),
          "no usage text:\n" + err);
    }
  }
}
