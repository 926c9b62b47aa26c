package org.teekms.verifier.service;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * A real headless Chromium (Debian's chromium + chromium-driver) driven over the W3C WebDriver
 * protocol, for the verifier page's tests. Without chromedriver the calling test is skipped, unless
 * {@code -Dverifier.require-browser=true} (what .ci/run passes, after installing it) makes that a
 * failure. Every wait polls a condition with a generous deadline; none sleeps blindly.
 */
public final class HeadlessChromium implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();
  public static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  public static final Path CHROMIUM = Path.of("/usr/bin/chromium");

  /** How long a condition may take to hold (the machine running the tests may be loaded). */
  public static final Duration WAIT = Duration.ofSeconds(60);

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final Process driver;
  private final String driverUrl;
  private final String session;

  private HeadlessChromium(Process driver, String driverUrl, String session) {
    this.driver = driver;
    this.driverUrl = driverUrl;
    this.session = session;
  }

  /**
   * Starts chromedriver on a free loopback port and opens a headless session whose profile lives in
   * {@code dir}; skips (or fails, see above) the calling test when the browser is not installed.
   */
  public static HeadlessChromium start(Path dir) throws Exception {
    if (!Files.isExecutable(CHROMEDRIVER) || !Files.isExecutable(CHROMIUM)) {
      String why =
          "headless browser test: "
              + CHROMEDRIVER
              + " and "
              + CHROMIUM
              + " are needed (apt-get install chromium chromium-driver)";
      if (Boolean.getBoolean("verifier.require-browser")) {
        fail(why);
      }
      Assumptions.abort(why);
    }
    Files.createDirectories(dir);
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Path log = dir.resolve("chromedriver.log");
    Process driver =
        new ProcessBuilder(CHROMEDRIVER.toString(), "--port=" + port, "--allowed-ips=127.0.0.1")
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    HeadlessChromium probe = new HeadlessChromium(driver, "http://127.0.0.1:" + port, null);
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (true) {
        try {
          if (probe.call("GET", "/status", null).path("value").path("ready").asBoolean()) {
            break;
          }
        } catch (IOException e) {
          // not listening yet
        }
        if (System.nanoTime() > deadline) {
          fail("chromedriver did not become ready: " + Files.readString(log));
        }
        Thread.sleep(200);
      }
      ObjectNode caps = JSON.createObjectNode();
      ObjectNode always = caps.putObject("capabilities").putObject("alwaysMatch");
      always.put("browserName", "chrome");
      ObjectNode chrome = always.putObject("goog:chromeOptions");
      chrome.put("binary", CHROMIUM.toString());
      ArrayNode args = chrome.putArray("args");
      for (String a :
          List.of(
              "--headless",
              "--no-sandbox",
              "--disable-gpu",
              "--disable-dev-shm-usage",
              "--disable-quic",
              "--no-first-run",
              "--disable-background-networking",
              "--disable-component-update",
              "--disable-sync",
              "--user-data-dir=" + dir.resolve("profile"))) {
        args.add(a);
      }
      String session =
          probe.call("POST", "/session", caps).path("value").path("sessionId").asText();
      return new HeadlessChromium(driver, probe.driverUrl, session);
    } catch (Exception | Error e) {
      driver.destroy();
      driver.waitFor();
      throw e;
    }
  }

  /** One WebDriver command; a non-200 answer is an IOException with the driver's body. */
  public JsonNode call(String method, String path, JsonNode body)
      throws IOException, InterruptedException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(driverUrl + path)).timeout(Duration.ofSeconds(60));
    b =
        body == null
            ? b.method(method, HttpRequest.BodyPublishers.noBody())
            : b.header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(body.toString()));
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    JsonNode j = JSON.readTree(r.body());
    if (r.statusCode() != 200) {
      throw new IOException("WebDriver " + method + " " + path + ": " + r.body());
    }
    return j;
  }

  /** Loads {@code url} (returns once the page's load event fired). */
  public void open(String url) throws Exception {
    call("POST", "/session/" + session + "/url", JSON.createObjectNode().put("url", url));
  }

  /** Runs {@code js} in the page with {@code args} ({@code arguments[i]}); its return value. */
  public JsonNode script(String js, Object... args) throws Exception {
    ObjectNode b = JSON.createObjectNode();
    b.put("script", js);
    ArrayNode a = b.putArray("args");
    for (Object o : args) {
      a.addPOJO(o);
    }
    return call("POST", "/session/" + session + "/execute/sync", b).path("value");
  }

  /** Sets the value of the element with this id (a paste). */
  public void fill(String id, String value) throws Exception {
    script("document.getElementById(arguments[0]).value = arguments[1];", id, value);
  }

  /** The text content of the element with this id ("" when absent). */
  public String text(String id) throws Exception {
    return script(
            "var t = document.getElementById(arguments[0]); return t ? t.textContent : '';", id)
        .asText();
  }

  private String element(String css) throws Exception {
    ObjectNode find = JSON.createObjectNode();
    find.put("using", "css selector");
    find.put("value", css);
    JsonNode el = call("POST", "/session/" + session + "/element", find).path("value");
    return el.fields().next().getValue().asText();
  }

  /** Clicks the element {@code css} selects, as a user would. */
  public void click(String css) throws Exception {
    call(
        "POST",
        "/session/" + session + "/element/" + element(css) + "/click",
        JSON.createObjectNode());
  }

  /**
   * Chooses {@code file} in the file input {@code css} selects, as a user picking it in the file
   * dialog does (WebDriver "element send keys" with the path): the page's change handler runs.
   */
  public void upload(String css, Path file) throws Exception {
    call(
        "POST",
        "/session/" + session + "/element/" + element(css) + "/value",
        JSON.createObjectNode().put("text", file.toAbsolutePath().toString()));
  }

  /**
   * The text of element {@code id} once {@code until} holds for it, polled every 100 ms for at most
   * {@link #WAIT}; fails with what was there otherwise.
   */
  public String waitForText(String id, java.util.function.Predicate<String> until, String what)
      throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    String t = text(id);
    while (!until.test(t)) {
      if (System.nanoTime() > deadline) {
        fail(what + " not shown in #" + id + " within " + WAIT.toSeconds() + " s: '" + t + "'");
      }
      Thread.sleep(100);
      t = text(id);
    }
    return t;
  }

  @Override
  public void close() throws Exception {
    if (session != null) {
      try {
        call("DELETE", "/session/" + session, null);
      } catch (IOException e) {
        // the driver is stopped below
      }
    }
    driver.destroy();
    driver.waitFor();
  }
}
