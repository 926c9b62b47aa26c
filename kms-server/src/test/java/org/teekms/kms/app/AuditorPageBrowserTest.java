package org.teekms.kms.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.kms.audit.AuditDraft;
import org.teekms.kms.audit.AuditEntry;
import org.teekms.kms.audit.AuditLog;
import org.teekms.verifier.service.HeadlessChromium;
import org.teekms.verifier.service.KmsAuditor;
import org.teekms.verifier.service.VerifierService;

/**
 * The verifier page's auditor tab against the real KMS (RA-TLS server, real PostgreSQL audit log):
 * {@code teekms verifier serve --kms} fetches the log over RA-TLS (the KMS's certificate verified
 * as {@code teekms audit} verifies it) and relays it; the page, in a real headless Chromium,
 * recomputes every entry hash itself and the chain verifies. A relay that alters one entry (a test
 * double standing in for a dishonest verifier service) is caught by the page at that entry's seq:
 * the service's word is not trusted.
 */
@QuarkusTest
@TestProfile(AuditProfile.class)
class AuditorPageBrowserTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static SimulatedTdx tdx;
  private static HeadlessChromium browser;
  private static Path dir;

  @Inject AuditLog audit;

  @BeforeAll
  static void platform() throws Exception {
    dir = Files.createTempDirectory("teekms-auditor-page");
    browser = HeadlessChromium.start(dir.resolve("browser"));
    tdx =
        SimulatedTdx.enableSeeded(
            "AuditorPageBrowserTest client side",
            Clock.systemUTC(),
            HexFormat.of().parseHex(RaTlsProfile.SEED));
  }

  @AfterAll
  static void stop() throws Exception {
    if (browser != null) {
      browser.close();
    }
  }

  private VerifierService service() throws Exception {
    return VerifierService.start(
        new VerifierService.Config(
                "127.0.0.1",
                0,
                new DcapQuoteVerifier(tdx.rootCertificate()),
                tdx.collateralSource(),
                null,
                Optional.empty(),
                VerifierService.Config.DEFAULT_MAX_BODY_BYTES,
                VerifierService.Config.DEFAULT_TIMEOUT,
                Clock.systemUTC())
            .withKms(new KmsAuditor.Address("127.0.0.1", AuditProfile.PORT)));
  }

  /** Fetches the log in the page's auditor tab, recomputes it there, and returns the verdict. */
  private static String fetchAndRecompute(String base, String app) throws Exception {
    browser.open(base + "/");
    browser.click("#tab-auditor");
    browser.fill("audit-app", app);
    browser.click("#audit-fetch");
    String fetched =
        browser.waitForText(
            "audit-fetch-status", t -> t.startsWith("fetched") || t.startsWith("cannot"), "fetch");
    assertTrue(fetched.startsWith("fetched "), fetched);
    browser.click("#audit-verify");
    return browser.waitForText(
        "audit-verdict", t -> t.startsWith("chain") || t.startsWith("cannot"), "the verdict");
  }

  @Test
  void thePageRecomputesTheRealKmsLogRelayedByTheServiceAndCatchesARelayThatAltersAnEntry()
      throws Exception {
    byte[] app = new byte[20];
    app[19] = 0x2a;
    String appHex = "0x" + HexFormat.of().formatHex(app);
    long mine = 0;
    for (int i = 0; i < 3; i++) {
      AuditEntry e =
          audit
              .appendAlone(
                  AuditDraft.denied(
                      "DENY_APP_KEYS",
                      org.teekms.keys.AppId.of(app),
                      "DEBUG_TD",
                      "{\"debug\":true,\"page\":" + i + "}"))
              .await()
              .atMost(WAIT);
      mine = mine == 0 ? e.seq() : mine;
    }
    final long altered = mine + 1;
    try (VerifierService service = service()) {
      String base = "http://127.0.0.1:" + service.port();
      HttpResponse<String> served =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create(base + "/audit/events")).build(),
                  HttpResponse.BodyHandlers.ofString());
      assertEquals(200, served.statusCode(), served.body());
      JsonNode log = JSON.readTree(served.body());
      long count = log.get("count").asLong();
      assertTrue(count >= altered + 1, "the log holds our entries: " + count);
      assertEquals("127.0.0.1:" + AuditProfile.PORT, log.get("kms").asText());

      String verdict = fetchAndRecompute(base, appHex);
      assertTrue(
          verdict.startsWith("chain verifies: " + count + " entries recomputed in this page"),
          verdict);
      String rows =
          browser
              .script(
                  "return Array.from(document.querySelectorAll('#audit-table tbody tr'))"
                      + ".map(r => r.dataset.seq + '|' + r.dataset.status).join(',');")
              .asText();
      assertEquals(
          mine + "|PASS," + (mine + 1) + "|PASS," + (mine + 2) + "|PASS",
          rows,
          "the app's entries are shown");

      try (AlteringRelay relay = new AlteringRelay(base, altered)) {
        String caught = fetchAndRecompute(relay.base(), appHex);
        assertEquals(
            "chain broken at seq "
                + altered
                + ": the recomputed entry hash differs from the stored one (entry edited?)",
            caught);
      }
    }
  }

  /**
   * A dishonest verifier service (test double): serves the real service's page and script, and
   * relays the real service's {@code /audit/events} with one entry's detail altered.
   */
  static final class AlteringRelay implements AutoCloseable {
    private final HttpServer server;
    private final HttpClient http = HttpClient.newHttpClient();

    AlteringRelay(String upstream, long seq) throws IOException {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      server.createContext(
          "/",
          ex -> {
            try {
              HttpResponse<byte[]> r =
                  http.send(
                      HttpRequest.newBuilder(URI.create(upstream + ex.getRequestURI())).build(),
                      HttpResponse.BodyHandlers.ofByteArray());
              byte[] body = r.body();
              if (ex.getRequestURI().getPath().equals("/audit/events")) {
                ObjectNode o = (ObjectNode) JSON.readTree(body);
                for (JsonNode e : (ArrayNode) o.get("events")) {
                  if (e.get("seq").asLong() == seq) {
                    ((ObjectNode) e).put("detail", "{\"debug\":false}");
                  }
                }
                body = JSON.writeValueAsBytes(o);
              }
              ex.getResponseHeaders()
                  .add("Content-Type", r.headers().firstValue("Content-Type").orElse("text/plain"));
              send(ex, r.statusCode(), body);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              send(ex, 502, "interrupted".getBytes(StandardCharsets.UTF_8));
            }
          });
      server.start();
    }

    String base() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private static void send(HttpExchange ex, int status, byte[] body) throws IOException {
      ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
      ex.close();
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }
}
