package org.teekms.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * deploy/docker-compose.yaml (the KMS CVM's compose on dstack): the TD interfaces it reads, least
 * privilege.
 */
class ComposeKmsTest {
  @Test
  void theKmsServiceGetsItsTdInterfacesWithoutCapabilities() {
    JsonNode kms = Yaml.single("deploy/docker-compose.yaml").path("services").path("kms");
    Map<String, Boolean> readOnly = new HashMap<>();
    int binds = 0;
    for (JsonNode v : kms.path("volumes")) {
      String[] parts = v.asText().split(":");
      if (parts[0].startsWith("/")) {
        assertEquals(parts[0], parts[1], "a TD path is mounted at the same path: " + v);
        readOnly.put(parts[1], parts.length > 2 && parts[2].equals("ro"));
        binds++;
      }
    }
    assertEquals(
        "configfs-tsm", kms.path("environment").path("TEEKMS_TEE_QUOTE_PROVIDER").asText());
    TdMounts.assertCovers("docker-compose kms", readOnly.keySet(), readOnly);
    assertEquals(
        4,
        binds,
        "only configfs-tsm, the RTMR registers, the ACPI tables and dstack's event log: "
            + kms.path("volumes"));
    assertEquals("0:0", kms.path("user").asText(), "uid 0: configfs-tsm and CCEL are root-owned");
    assertEquals("[\"ALL\"]", kms.path("cap_drop").toString());
    assertTrue(kms.path("cap_add").isMissingNode());
    assertFalse(kms.path("privileged").asBoolean(false));
    assertTrue(kms.path("read_only").asBoolean(false));
    assertTrue(kms.path("security_opt").toString().contains("no-new-privileges:true"));
  }

  @Test
  void bothKmsTargetsLogJson() {
    JsonNode compose =
        Yaml.single("deploy/docker-compose.yaml").path("services").path("kms").path("environment");
    JsonNode k8s =
        KmsDeployFilesTest.k8s("deploy/k8s/base/kms-config.yaml", "ConfigMap", "teekms-kms")
            .path("data");
    for (JsonNode env : java.util.List.of(compose, k8s)) {
      assertEquals("true", env.path("QUARKUS_LOG_CONSOLE_JSON_ENABLED").asText());
    }
    // Off by default (dev, tests, the demo read plain text); the deploy files turn it on.
    assertEquals(
        "false",
        KmsConfigCatalog.applicationProperty("quarkus.log.console.json.enabled").orElse(""));
  }

  @Test
  void sealingProviderDefaultsToTheDstackHostAddress() {
    JsonNode env =
        Yaml.single("deploy/docker-compose.yaml").path("services").path("kms").path("environment");
    assertEquals("local-sgx", env.path("TEEKMS_SEALING_PROVIDER").asText());
    assertEquals(
        "${TEEKMS_SEALING_PROVIDER_ADDRESS:-10.0.2.2:3443}",
        env.path("TEEKMS_SEALING_PROVIDER_ADDRESS").asText());
  }
}
