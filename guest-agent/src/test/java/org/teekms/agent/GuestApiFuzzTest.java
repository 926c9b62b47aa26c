package org.teekms.agent;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.Arrays;
import org.teekms.agent.api.ApiException;
import org.teekms.agent.api.GuestApi;
import org.teekms.agent.boot.AppCompose;

/**
 * Coverage-guided fuzz targets (Jazzer) for what the workload hands the guest agent: the
 * dstack-compatible socket API's JSON bodies (served by a booted agent against the in-process test
 * KMS) and app-compose.json. Corpus: {@code
 * src/test/resources/org/teekms/agent/GuestApiFuzzTestInputs/<target>/}. The first input byte picks
 * the method, the rest is the body. Only {@link ApiException} (an HTTP 4xx/5xx with a reason) may
 * escape the API, only {@link IllegalArgumentException} the compose parser. {@code EmitEvent} is
 * left out: it extends RTMR3 and grows the event log, so the loop would not be stateless.
 */
class GuestApiFuzzTest {
  private static final String[] METHODS = {
    "GetKey", "GetQuote", "Info", "GetTlsKey", "Sign", "Verify", "Version"
  };
  private static final GuestApi API;

  static {
    try {
      API = new GuestApi(AgentFixture.boot(new TestKms("{\"name\":\"kms\"}")));
    } catch (Exception e) {
      throw new IllegalStateException("the test agent did not boot", e);
    }
  }

  @FuzzTest
  void socketApi(byte[] data) {
    if (data.length == 0) {
      return;
    }
    String method = METHODS[(data[0] & 0xff) % METHODS.length];
    JsonNode body;
    try {
      body =
          data.length == 1
              ? null
              : GuestApi.JSON_MAPPER.readTree(
                  Arrays.copyOfRange(data, 1, data.length)); // as the server
    } catch (IOException notJson) {
      // GuestApiServer answers 400 to any IOException from the parser, not only
      // JsonProcessingException: Jackson's
      // encoding detection throws CharConversionException (found by this target, input
      // crash-43664e3c…).
      return;
    }
    try {
      assertNotNull(API.handle(method, body));
    } catch (ApiException expected) {
      // typed
    }
  }

  @FuzzTest
  void appCompose(byte[] data) {
    try {
      AppCompose.parse(data);
    } catch (IllegalArgumentException expected) {
      // typed
    }
  }
}
