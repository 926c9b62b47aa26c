package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.teekms.attest.Fixtures;
import picocli.CommandLine;

/**
 * Every wait longer than a second is reported on stderr (stdout keeps only the result); short waits
 * say nothing.
 */
class WaitingTest {

  @Test
  void aWaitOverASecondIsReportedAShortOneIsNot() throws Exception {
    StringWriter err = new StringWriter();
    try (Waiting w = Waiting.start(new PrintWriter(err, true), "teekms x", "fetching collateral")) {
      Thread.sleep(100);
    }
    Thread.sleep(1200);
    assertEquals("", err.toString(), "a 0.1 s wait is silent, also after it ended");
    try (Waiting w = Waiting.start(new PrintWriter(err, true), "teekms x", "fetching collateral")) {
      Thread.sleep(1400);
    }
    assertEquals("teekms x: fetching collateral (1 s)\n", err.toString().replace("\r\n", "\n"));
  }

  @Test
  void aKmsThatDoesNotAnswerIsReportedWhileTheCommandWaits() throws Exception {
    // Accepts TCP connections and never speaks: the TLS handshake waits until --timeout.
    try (ServerSocket silent = new ServerSocket(0)) {
      List<Socket> held = new ArrayList<>();
      Thread acceptor =
          new Thread(
              () -> {
                try {
                  while (true) {
                    held.add(silent.accept());
                  }
                } catch (Exception e) {
                  // closed
                }
              });
      acceptor.setDaemon(true);
      acceptor.start();
      CommandLine cli = TeeKmsCli.newCommandLine();
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      cli.setOut(new PrintWriter(out, true));
      cli.setErr(new PrintWriter(err, true));
      int exit =
          cli.execute(
              "kms",
              "status",
              "--kms",
              "127.0.0.1:" + silent.getLocalPort(),
              "--collateral",
              Fixtures.path("dcap-qvl/tdx_quote_v4_collateral.json").toString(),
              "--timeout",
              "3",
              "--output",
              "json");
      assertEquals(1, exit, out + "\n" + err);
      assertTrue(
          err.toString()
              .contains(
                  "teekms kms status: waiting for the KMS at 127.0.0.1:"
                      + silent.getLocalPort()
                      + " (GetKmsInfo) (1 s)"),
          err.toString());
      assertTrue(out.toString().contains("did not answer within 3 s"), out.toString());
      assertFalse(out.toString().contains("waiting for"), "progress stays off stdout");
      for (Socket s : held) {
        s.close();
      }
    }
  }
}
