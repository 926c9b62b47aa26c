package org.teekms.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.agent.boot.AppCompose;
import org.teekms.agent.boot.BootFailure;
import org.teekms.attest.ratls.SimulatedRaTls;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.keys.DestroyedSecretException;

/**
 * {@code teekms-agent run}'s wiring from a configuration file, with the seeded TDX simulator
 * explicitly enabled.
 */
class AgentRuntimeTest {
  static final String SEED = "5eed5eed5eed5eed";
  @TempDir Path dir;

  Properties config(TestKms kms, FakeOpenAi upstream) throws Exception {
    Path compose = Files.writeString(dir.resolve("app-compose.json"), AgentFixture.COMPOSE);
    Path token = Files.writeString(dir.resolve("token"), "tok-123\n");
    Properties p = new Properties();
    p.setProperty("app.id", AgentFixture.APP.toHex());
    p.setProperty("app.instance-id", AgentFixture.INSTANCE.toHex());
    p.setProperty("app.os-image-hash", HexFormat.of().formatHex(AgentFixture.OS_IMAGE));
    p.setProperty("app.compose-file", compose.toString());
    p.setProperty("kms.host", "127.0.0.1");
    p.setProperty("kms.port", String.valueOf(kms.port()));
    p.setProperty("kms.registered-measurements", kms.identity.mrAggregated().hex());
    p.setProperty("kms.retry.attempts", "2");
    p.setProperty("kms.retry.initial-ms", "10");
    p.setProperty("attestation.provider", "simulator");
    p.setProperty("attestation.simulator.seed", SEED);
    p.setProperty("api.socket", dir.resolve("dstack.sock").toString());
    p.setProperty("admin.socket", dir.resolve("admin.sock").toString());
    p.setProperty("proxy.enabled", "true");
    p.setProperty("proxy.host", "127.0.0.1");
    p.setProperty("proxy.port", "0");
    p.setProperty("proxy.upstream", upstream.url());
    p.setProperty("proxy.auth-token-file", token.toString());
    return p;
  }

  @Test
  void runStartsEverythingFromConfigurationAndCloseDestroysTheKeys() throws Exception {
    SimulatedTdx platform =
        SimulatedTdx.enableSeeded(
            "AgentRuntimeTest KMS", SimulatedRaTls.CLOCK, HexFormat.of().parseHex(SEED));
    try (TestKms kms = new TestKms("{\"name\":\"kms\"}", platform);
        FakeOpenAi upstream = new FakeOpenAi()) {
      kms.allow(
          AgentFixture.APP,
          AppCompose.parse(AgentFixture.COMPOSE.getBytes(StandardCharsets.UTF_8))
              .composeHash()
              .toByteArray());
      AgentRuntime rt = AgentRuntime.start(new AgentConfig(config(kms, upstream)), d -> {});
      try {
        UnixHttpClient.Response key =
            UnixHttpClient.post(rt.apiSocket(), "/GetKey", "{\"path\":\"a\"}");
        assertEquals(200, key.status(), key.body());
        assertEquals(64, new ObjectMapper().readTree(key.body()).get("key").asText().length());
        int port = rt.proxy().orElseThrow().port();
        HttpResponse<String> r =
            HttpClient.newHttpClient()
                .send(
                    HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                        .header("Authorization", "Bearer tok-123")
                        .POST(
                            HttpRequest.BodyPublishers.ofString(
                                "{\"model\":\"demo\",\"messages\":[]}"))
                        .build(),
                    HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertTrue(Files.exists(dir.resolve("admin.sock")));
      } finally {
        rt.close();
      }
      assertTrue(Files.notExists(dir.resolve("dstack.sock")), "the socket is removed on close");
      assertThrows(DestroyedSecretException.class, () -> rt.agent().keys().diskPassphrase());
    }
  }

  @Test
  void aKmsOnAnotherPlatformIsNotTrusted() throws Exception {
    try (TestKms kms = new TestKms("{\"name\":\"kms\"}");
        FakeOpenAi upstream = new FakeOpenAi()) {
      kms.allow(
          AgentFixture.APP,
          AppCompose.parse(AgentFixture.COMPOSE.getBytes(StandardCharsets.UTF_8))
              .composeHash()
              .toByteArray());
      BootFailure f =
          assertThrows(
              BootFailure.class,
              () -> AgentRuntime.start(new AgentConfig(config(kms, upstream)), d -> {}));
      assertEquals("RETRIES_EXHAUSTED", f.reason());
      assertEquals(0, kms.getAppKeysCalls.get());
    }
  }
}
