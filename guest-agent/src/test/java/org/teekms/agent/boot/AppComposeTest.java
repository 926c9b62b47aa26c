package org.teekms.agent.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class AppComposeTest {
  static final String COMPLETE =
      "{\"manifest_version\":2,\"name\":\"a\",\"runner\":\"docker-compose\","
          + "\"docker_compose_file\":\"services: {}\\n\",\"kms_enabled\":true,\"gateway_enabled\":false,"
          + "\"local_key_provider_enabled\":false,\"key_provider\":\"kms\",\"key_provider_id\":\"\",\"public_logs\":false,"
          + "\"public_sysinfo\":true,\"public_tcbinfo\":true,\"allowed_envs\":[],\"no_instance_id\":false,"
          + "\"secure_time\":true}";

  static AppCompose parse(String json) {
    return AppCompose.parse(json.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void aCompleteDstackAppComposeNamesEveryFieldOfDstacksStruct() {
    assertEquals(List.of(), parse(COMPLETE).missingDstackFields());
    assertEquals(
        List.of("gateway_enabled", "public_tcbinfo", "secure_time"),
        parse(
                COMPLETE
                    .replace(",\"gateway_enabled\":false", "")
                    .replace(",\"public_tcbinfo\":true", "")
                    .replace(",\"secure_time\":true", ""))
            .missingDstackFields());
  }

  @Test
  void dstackFieldsOfTheWrongTypeAreRefusedAsDstackRefusesThem() {
    for (String[] c :
        new String[][] {
          {"\"manifest_version\":2", "\"manifest_version\":\"2\""},
          {"\"manifest_version\":2", "\"manifest_version\":-1"},
          {"\"public_tcbinfo\":true", "\"public_tcbinfo\":1"},
          {"\"secure_time\":true", "\"secure_time\":\"yes\""},
          {"\"runner\":\"docker-compose\"", "\"runner\":[]"},
          {"\"gateway_enabled\":false", "\"gateway_enabled\":\"no\""}
        }) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class, () -> parse(COMPLETE.replace(c[0], c[1])), c[1]);
      assertTrue(
          e.getMessage().startsWith("app-compose field ") && !e.getMessage().contains("\n"),
          e.getMessage());
    }
  }

  @Test
  void unknownFieldsAreIgnoredAsDstackIgnoresThem() {
    AppCompose c =
        parse("{\"pre_launch_script\":\"echo hi\",\"features\":[\"x\"]," + COMPLETE.substring(1));
    assertEquals("a", c.name());
  }
}
