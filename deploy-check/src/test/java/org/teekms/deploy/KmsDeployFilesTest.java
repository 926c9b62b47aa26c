package org.teekms.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** deploy/docker-compose.yaml and deploy/k8s against the real kms-server. */
class KmsDeployFilesTest {
  private static KmsConfigCatalog catalog;

  @BeforeAll
  static void loadCatalog() {
    catalog = KmsConfigCatalog.load();
  }

  @Test
  void everyYamlFileUnderDeployParses() throws IOException {
    List<Path> files;
    try (Stream<Path> s = Files.walk(Repo.path("deploy"))) {
      files =
          s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).toList();
    }
    assertTrue(files.size() >= 12, "expected the compose file and the manifests, found " + files);
    for (Path f : files) {
      assertFalse(Yaml.documents(Repo.root().relativize(f).toString()).isEmpty(), f.toString());
    }
  }

  @Test
  void composeKmsEnvironmentSetsRealRuntimeProperties() {
    JsonNode compose = Yaml.single("deploy/docker-compose.yaml");
    JsonNode env = compose.path("services").path("kms").path("environment");
    assertTrue(env.isObject() && env.size() >= 10, "kms service environment: " + env);
    assertRealRuntimeProperties("deploy/docker-compose.yaml kms", fieldNames(env));
    assertEquals(
        "postgres", compose.path("services").path("kms").path("depends_on").fieldNames().next());
  }

  @Test
  void kubernetesKmsEnvironmentSetsRealRuntimeProperties() {
    JsonNode config = k8s("deploy/k8s/base/kms-config.yaml", "ConfigMap", "teekms-kms");
    assertRealRuntimeProperties("ConfigMap teekms-kms", fieldNames(config.path("data")));
    JsonNode kms = kmsContainer();
    List<String> env = new ArrayList<>();
    kms.path("env").forEach(e -> env.add(e.path("name").asText()));
    assertEquals(List.of("TEEKMS_NODE_ID", "QUARKUS_DATASOURCE_PASSWORD"), env);
    assertRealRuntimeProperties("StatefulSet teekms-kms env", env);
    assertEquals(
        "teekms-kms", kms.path("envFrom").get(0).path("configMapRef").path("name").asText());
  }

  @Test
  void probesAndScrapingUseTheKmsManagementInterface() {
    // Health and metrics must not sit behind the mutual RA-TLS port (a kubelet has no attested
    // certificate): the
    // build must enable Quarkus' management interface, a build-time switch.
    assertEquals(
        KmsConfigCatalog.Phase.BUILD_TIME,
        catalog.find("quarkus.management.enabled").orElseThrow().phase());
    assertEquals(
        "true",
        KmsConfigCatalog.applicationProperty("quarkus.management.enabled").orElse("false"),
        "kms-server application.properties must set quarkus.management.enabled=true for the probes in deploy/");
    assertTrue(
        KmsConfigCatalog.applicationProperty("quarkus.management.port")
            .orElse("9000")
            .equals("9000"));
    assertTrue(
        catalog.find("quarkus.smallrye-health.check.readiness.enabled").isPresent(),
        "smallrye-health is not in kms-server");
    assertTrue(
        catalog.find("quarkus.micrometer.export.prometheus.path").isPresent(),
        "no Prometheus registry");

    JsonNode sts = k8s("deploy/k8s/base/kms-statefulset.yaml", "StatefulSet", "teekms-kms");
    JsonNode kms = kmsContainer();
    Map<String, Integer> ports = new java.util.HashMap<>();
    kms.path("ports")
        .forEach(p -> ports.put(p.path("name").asText(), p.path("containerPort").asInt()));
    assertEquals(Map.of("grpc", 8443, "management", 9000), ports);
    // gRPC over TLS: the port the manifests expose is the KMS's TLS port.
    assertEquals(
        "8443", KmsConfigCatalog.applicationProperty("quarkus.http.ssl-port").orElse("8443"));
    for (String probe : List.of("readinessProbe", "livenessProbe", "startupProbe")) {
      JsonNode get = kms.path(probe).path("httpGet");
      assertEquals("management", get.path("port").asText(), probe);
      assertTrue(
          Set.of("/q/health/ready", "/q/health/live", "/q/health/started")
              .contains(get.path("path").asText()),
          probe + " path " + get.path("path"));
    }
    JsonNode annotations = sts.path("spec").path("template").path("metadata").path("annotations");
    assertEquals("9000", annotations.path("prometheus.io/port").asText());
    assertEquals("/q/metrics", annotations.path("prometheus.io/path").asText());

    JsonNode monitor = Yaml.single("deploy/k8s/monitoring/servicemonitor.yaml");
    JsonNode selector = monitor.path("spec").path("selector").path("matchLabels");
    JsonNode endpoint = monitor.path("spec").path("endpoints").get(0);
    boolean served = false;
    for (JsonNode svc : Yaml.documents("deploy/k8s/base/kms-services.yaml")) {
      if (matches(svc.path("metadata").path("labels"), selector)) {
        for (JsonNode port : svc.path("spec").path("ports")) {
          served |=
              port.path("name").asText().equals(endpoint.path("port").asText())
                  && port.path("targetPort").asText().equals("management");
        }
      }
    }
    assertTrue(
        served, "the ServiceMonitor selects no service port that targets the management port");
    assertEquals("/q/metrics", endpoint.path("path").asText());
  }

  @Test
  void kmsVerifiesGpuEvidenceUnderNvidiaRootsWithRimsAndFailClosedOcspAsDeployed() {
    // The KMS refuses to start in nvidia mode without a RIM source (GpuVerification), and apps may
    // require GPUs:
    // every deployment names one, keeps OCSP fail-closed, and never runs the GPU simulator.
    JsonNode compose =
        Yaml.single("deploy/docker-compose.yaml").path("services").path("kms").path("environment");
    JsonNode k8s = k8s("deploy/k8s/base/kms-config.yaml", "ConfigMap", "teekms-kms").path("data");
    for (JsonNode env : List.of(compose, k8s)) {
      assertEquals("nvidia", env.path("TEEKMS_GPU_VERIFICATION").asText());
      assertTrue(
          env.path("TEEKMS_GPU_RIM_SERVICE_URL")
                  .asText()
                  .contains("https://rim.attestation.nvidia.com/v1/rim/")
              || !env.path("TEEKMS_GPU_RIM_DIRECTORY").asText().isEmpty(),
          "a RIM source");
      assertEquals("fail-closed", env.path("TEEKMS_GPU_OCSP_MODE").asText());
      assertTrue(
          env.path("TEEKMS_GPU_OCSP_RESPONDER_URL")
              .asText()
              .contains("https://ocsp.ndis.nvidia.com/"));
    }
  }

  @Test
  void kmsServesMutualRaTlsAsDeployed() {
    // Build-time half: the server asks every client for its certificate (Quarkus fixes this at
    // build time).
    assertTrue(
        Set.of("request", "required")
            .contains(
                KmsConfigCatalog.applicationProperty("quarkus.http.ssl.client-auth")
                    .orElse("none")),
        "kms-server must be built with quarkus.http.ssl.client-auth=request|required");
    assertEquals(
        KmsConfigCatalog.Phase.BUILD_TIME,
        catalog.find("quarkus.http.ssl.client-auth").orElseThrow().phase());
    // Runtime half, in every deployment: the RA-TLS configuration on the gRPC port, no plain-text
    // listener.
    JsonNode compose =
        Yaml.single("deploy/docker-compose.yaml").path("services").path("kms").path("environment");
    JsonNode k8s = k8s("deploy/k8s/base/kms-config.yaml", "ConfigMap", "teekms-kms").path("data");
    for (JsonNode env : List.of(compose, k8s)) {
      assertEquals("ratls", env.path("QUARKUS_HTTP_TLS_CONFIGURATION_NAME").asText());
      assertEquals("8443", env.path("QUARKUS_HTTP_SSL_PORT").asText());
      assertEquals("disabled", env.path("QUARKUS_HTTP_INSECURE_REQUESTS").asText());
      assertEquals("false", env.path("TEEKMS_SIMULATOR_ENABLED").asText());
      assertEquals("local-sgx", env.path("TEEKMS_SEALING_PROVIDER").asText());
    }
  }

  @Test
  void alertsUseMetersThatKmsServerRegisters() throws IOException {
    Set<String> meters = new TreeSet<>();
    Pattern builder =
        Pattern.compile(
            "(?:Counter|Timer|Gauge|DistributionSummary)\\.builder\\(\\s*\"([a-z0-9.]+)\"");
    try (Stream<Path> s = Files.walk(Repo.path("kms-server/src/main/java"))) {
      for (Path f : s.filter(p -> p.toString().endsWith(".java")).toList()) {
        Matcher m = builder.matcher(Files.readString(f));
        while (m.find()) {
          meters.add(m.group(1));
        }
      }
    }
    assertFalse(meters.isEmpty(), "kms-server registers no Micrometer meters");
    String rules = Repo.text("deploy/k8s/monitoring/prometheusrule.yaml");
    Yaml.single("deploy/k8s/monitoring/prometheusrule.yaml");
    Matcher m = Pattern.compile("\\b(teekms_[a-z0-9_]+)").matcher(rules);
    int used = 0;
    while (m.find()) {
      String prometheus = m.group(1);
      String meter =
          prometheus
              .replaceAll("_(total|count|sum|max|bucket|seconds(_count|_sum|_max|_bucket)?)$", "")
              .replace('_', '.');
      // A gauge named "….seconds" keeps that suffix in Prometheus
      // (teekms_collateral_expiry_seconds).
      assertTrue(
          meters.contains(meter) || meters.contains(prometheus.replace('_', '.')),
          prometheus + " is not a meter of kms-server (it has " + meters + ")");
      used++;
    }
    assertTrue(used >= 3, "the alert rules use no kms-server metric");
  }

  @Test
  void kustomizationsListExistingFiles() {
    for (String k : List.of("deploy/k8s/base", "deploy/k8s/postgres", "deploy/k8s/monitoring")) {
      JsonNode kustomization = Yaml.single(k + "/kustomization.yaml");
      assertEquals("Kustomization", kustomization.path("kind").asText());
      Set<String> names = new HashSet<>();
      for (JsonNode resource : kustomization.path("resources")) {
        Path p = Repo.path(k).resolve(resource.asText()).normalize();
        assertTrue(Files.exists(p), k + ": resource " + resource + " does not exist");
        if (Files.isRegularFile(p)) {
          for (JsonNode doc : Yaml.documents(Repo.root().relativize(p).toString())) {
            assertFalse(doc.path("apiVersion").asText().isEmpty(), p + ": apiVersion");
            String id =
                doc.path("kind").asText() + "/" + doc.path("metadata").path("name").asText();
            assertFalse(
                doc.path("metadata").path("name").asText().isEmpty(), p + ": metadata.name");
            assertTrue(names.add(id), k + ": " + id + " defined twice");
          }
        }
      }
    }
  }

  @Test
  void theCheckHasTeeth() {
    assertTrue(catalog.size() > 200, "catalog too small: " + catalog.size());
    assertTrue(catalog.byEnv("TEEKMS_CHAIN_RPC_URL").isPresent());
    assertTrue(catalog.byEnv("QUARKUS_DATASOURCE_REACTIVE_URL").isPresent());
    assertTrue(catalog.byEnv("TEEKMS_CHAIN_RPC_URLS").isPresent());
    assertFalse(catalog.byEnv("TEEKMS_CHAIN_RPC_URLZ").isPresent());
    assertFalse(catalog.byEnv("TEEKMS_CHAIN_URL").isPresent());
    assertFalse(catalog.byEnv("QUARKUS_DATASOURCE_REACTIVE_URI").isPresent());
    assertEquals("kms-id", KmsConfigCatalog.kebab("kmsId"));
    assertEquals(
        "TEEKMS_ADMISSION_ACCEPTED_TCB_STATUSES",
        KmsConfigCatalog.envName("teekms.admission.accepted-tcb-statuses"));
  }

  private static void assertRealRuntimeProperties(String where, List<String> envNames) {
    for (String env : envNames) {
      var property = catalog.byEnv(env);
      assertTrue(
          property.isPresent(),
          where + ": " + env + " is not a configuration property of kms-server");
      assertEquals(
          KmsConfigCatalog.Phase.RUN_TIME,
          property.get().phase(),
          where
              + ": "
              + env
              + " ("
              + property.get().name()
              + ") is fixed at build time; setting it at deploy time has no effect");
    }
  }

  private static List<String> fieldNames(JsonNode object) {
    List<String> out = new ArrayList<>();
    object.fieldNames().forEachRemaining(out::add);
    return out;
  }

  private static boolean matches(JsonNode labels, JsonNode selector) {
    var it = selector.fields();
    while (it.hasNext()) {
      var e = it.next();
      if (!labels.path(e.getKey()).asText().equals(e.getValue().asText())) {
        return false;
      }
    }
    return true;
  }

  static JsonNode k8s(String file, String kind, String name) {
    return Yaml.documents(file).stream()
        .filter(
            d ->
                d.path("kind").asText().equals(kind)
                    && d.path("metadata").path("name").asText().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError(file + ": no " + kind + " " + name));
  }

  private static JsonNode kmsContainer() {
    JsonNode sts = k8s("deploy/k8s/base/kms-statefulset.yaml", "StatefulSet", "teekms-kms");
    for (JsonNode c : sts.path("spec").path("template").path("spec").path("containers")) {
      if (c.path("name").asText().equals("kms")) {
        return c;
      }
    }
    throw new AssertionError("StatefulSet teekms-kms has no container named kms");
  }
}
