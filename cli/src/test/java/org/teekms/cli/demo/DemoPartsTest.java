package org.teekms.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The demo's own parts (the full run is `./teekms demo`, executed by .ci/run). */
class DemoPartsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void theDemoAppComposeIsACompleteDstackAppCompose() throws Exception {
    byte[] bytes =
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(DemoRun.appCompose());
    org.teekms.agent.boot.AppCompose parsed = org.teekms.agent.boot.AppCompose.parse(bytes);
    assertEquals(java.util.List.of(), parsed.missingDstackFields());
    assertEquals(java.util.List.of("UPSTREAM_API_KEY"), parsed.allowedEnvs());
  }

  /**
   * signed-exchange.json keeps the exact bytes of a body: UTF-8 as text, anything else as base64
   * (what POST /verify/response and the page accept as requestBase64/responseBase64).
   */
  @Test
  void theExchangeFileKeepsABodyThatIsNotUtf8ExactlyAsBase64() {
    com.fasterxml.jackson.databind.node.ObjectNode m = JSON.createObjectNode();
    DemoExchange.exactBody(m, "request", new byte[] {(byte) 0xff, 0x41});
    assertEquals("/0E=", m.get("requestBase64").asText());
    assertFalse(m.has("request"));
    DemoExchange.exactBody(
        m, "response", "{\"a\":\"é\"}\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertEquals("{\"a\":\"é\"}\n", m.get("response").asText());
    assertFalse(m.has("responseBase64"));
  }

  @Test
  void fakeModelAnswersLikeAnOpenAiServer() throws Exception {
    try (FakeLlm llm = FakeLlm.start()) {
      URI base = URI.create("http://127.0.0.1:" + llm.port());
      JsonNode models =
          JSON.readTree(
              http.send(
                      HttpRequest.newBuilder(base.resolve("/v1/models")).build(),
                      HttpResponse.BodyHandlers.ofString())
                  .body());
      assertEquals(FakeLlm.MODEL, models.path("data").get(0).path("id").asText());

      String body =
          "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}";
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(base.resolve("/v1/chat/completions"))
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode());
      JsonNode answer = JSON.readTree(r.body());
      assertTrue(answer.path("id").asText().startsWith("chatcmpl-"));
      assertTrue(
          answer
              .path("choices")
              .get(0)
              .path("message")
              .path("content")
              .asText()
              .contains("hello there"));

      String stream =
          "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
      HttpResponse<String> sse =
          http.send(
              HttpRequest.newBuilder(base.resolve("/v1/chat/completions"))
                  .POST(HttpRequest.BodyPublishers.ofString(stream))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals("text/event-stream", sse.headers().firstValue("Content-Type").orElse(""));
      assertTrue(sse.body().startsWith("data: {"));
      assertTrue(sse.body().endsWith("data: [DONE]\n\n"));

      HttpResponse<String> bad =
          http.send(
              HttpRequest.newBuilder(base.resolve("/v1/chat/completions"))
                  .POST(HttpRequest.BodyPublishers.ofString("{\"messages\":[]}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(400, bad.statusCode());
      HttpResponse<String> notJson =
          http.send(
              HttpRequest.newBuilder(base.resolve("/v1/chat/completions"))
                  .POST(HttpRequest.BodyPublishers.ofString("{"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(400, notJson.statusCode());
      assertEquals(4, llm.requests()); // every chat POST, the refused ones included
    }
  }

  @Test
  void reporterFailsTheRunAndSkipsWhatFollowsAFailure() {
    StringWriter text = new StringWriter();
    DemoReporter r = new DemoReporter(new PrintWriter(text), 3);
    assertTrue(r.step("one", () -> r.detail("fact %d", 1)));
    assertFalse(
        r.step(
            "two",
            () -> {
              throw new IllegalStateException("KMS said no");
            }));
    assertFalse(
        r.step(
            "three",
            () -> {
              throw new AssertionError("must not run after a failure");
            }));
    assertEquals(1, r.summary(Duration.ofSeconds(1)));
    String out = text.toString();
    assertTrue(
        out.contains("[1/3] one")
            && out.contains("fact 1")
            && out.contains("FAILED")
            && out.contains("KMS said no"));
    assertTrue(out.contains("SKIPPED  3. three"), out);
    assertTrue(out.contains("1 of 3 steps passed"), out);
  }

  @Test
  void reporterSucceedsOnlyWhenEveryStepRanAndPassed() {
    DemoReporter all = new DemoReporter(new PrintWriter(new StringWriter()), 2);
    all.step("a", () -> {});
    all.step("b", () -> {});
    assertEquals(0, all.summary(Duration.ZERO));
    DemoReporter missing = new DemoReporter(new PrintWriter(new StringWriter()), 2);
    missing.step("a", () -> {});
    assertEquals(1, missing.summary(Duration.ZERO), "a step that never ran is not a pass");
  }
}
