package org.teekms.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * deploy/k8s rendered by `kubectl kustomize` (what `kubectl apply -k` sends) and validated offline
 * against the Kubernetes OpenAPI schemas (kubernetes-models, pinned in deploy-check/k8s-schema);
 * the rendered KMS pod gets the TD interfaces its configuration reads, with no more privilege than
 * they need.
 */
class KubernetesManifestsTest {
  static final List<String> OVERLAYS =
      List.of("deploy/k8s/base", "deploy/k8s/postgres", "deploy/k8s/monitoring");

  static String render(String overlay) throws Exception {
    Path kubectl = Tools.require("kubectl", "apt-get install kubectl");
    Tools.Result r =
        Tools.run(
            Repo.root(), List.of(kubectl.toString(), "kustomize", Repo.path(overlay).toString()));
    assertEquals(0, r.exit(), overlay + ": kubectl kustomize failed: " + r.output());
    return r.output();
  }

  private static Tools.Result validate(Map<String, String> rendered) throws Exception {
    Path node = Tools.require("node", "apt-get install nodejs");
    Path script = Repo.path("deploy-check/k8s-schema/validate.mjs");
    assertTrue(
        Files.isDirectory(Repo.path("deploy-check/k8s-schema/node_modules/kubernetes-models")),
        "k8s-schema/node_modules missing: the build's npm-ci step installs it");
    return Tools.inTempDir(
        dir -> {
          List<String> cmd = new ArrayList<>(List.of(node.toString(), script.toString()));
          for (Map.Entry<String, String> e : rendered.entrySet()) {
            Path f = dir.resolve(e.getKey().replace('/', '_') + ".yaml");
            Files.writeString(f, e.getValue(), StandardCharsets.UTF_8);
            cmd.add(f.toString());
          }
          return Tools.run(Repo.path("deploy-check/k8s-schema"), cmd);
        });
  }

  @Test
  void everyOverlayRendersAndMatchesTheKubernetesSchemas() throws Exception {
    Map<String, String> rendered = new HashMap<>();
    for (String overlay : OVERLAYS) {
      rendered.put(overlay, render(overlay));
    }
    Tools.Result r = validate(rendered);
    assertEquals(0, r.exit(), r.output());
    long ok = r.output().lines().filter(l -> l.startsWith("ok ")).count();
    assertTrue(ok >= 16, "expected every rendered document to be checked: " + r.output());
    assertFalse(r.output().contains("invalid"), r.output());
  }

  /** The validator has teeth: a wrongly typed field and an unknown kind are refused. */
  @Test
  void schemaViolationsAndUnknownKindsAreRefused() throws Exception {
    String base = render("deploy/k8s/base");
    assertTrue(base.contains("replicas: 3"), base);
    Tools.Result typed = validate(Map.of("typed", base.replace("replicas: 3", "replicas: three")));
    assertNotEquals(0, typed.exit(), typed.output());
    assertTrue(
        typed.output().contains("StatefulSet/teekms-kms: data/spec/replicas must be integer"),
        typed.output());
    Tools.Result kind =
        validate(Map.of("kind", "apiVersion: v1\nkind: Frobnicator\nmetadata:\n  name: x\n"));
    assertNotEquals(0, kind.exit(), kind.output());
    assertTrue(
        kind.output().contains("no schema for apiVersion v1 kind Frobnicator"), kind.output());
  }

  @Test
  void theRenderedKmsPodGetsItsTdInterfacesWithoutCapabilities() throws Exception {
    JsonNode sts =
        Yaml.documents("kustomize", render("deploy/k8s/base")).stream()
            .filter(d -> d.path("kind").asText().equals("StatefulSet"))
            .findFirst()
            .orElseThrow();
    JsonNode pod = sts.path("spec").path("template").path("spec");
    JsonNode kms = pod.path("containers").get(0);
    Map<String, String> hostPaths = new HashMap<>();
    pod.path("volumes")
        .forEach(
            v -> {
              if (v.has("hostPath")) {
                hostPaths.put(v.path("name").asText(), v.path("hostPath").path("path").asText());
              }
            });
    Map<String, String> mountedAt = new HashMap<>();
    Map<String, Boolean> readOnly = new HashMap<>();
    kms.path("volumeMounts")
        .forEach(
            m -> {
              if (hostPaths.containsKey(m.path("name").asText())) {
                assertEquals(
                    hostPaths.get(m.path("name").asText()),
                    m.path("mountPath").asText(),
                    "same path as the TD's");
                mountedAt.put(m.path("mountPath").asText(), m.path("name").asText());
                readOnly.put(m.path("mountPath").asText(), m.path("readOnly").asBoolean(false));
              }
            });
    JsonNode config =
        KmsDeployFilesTest.k8s("deploy/k8s/base/kms-config.yaml", "ConfigMap", "teekms-kms");
    assertEquals("configfs-tsm", config.path("data").path("TEEKMS_TEE_QUOTE_PROVIDER").asText());
    TdMounts.assertCovers("StatefulSet teekms-kms", mountedAt.keySet(), readOnly);
    assertEquals(
        4,
        hostPaths.size(),
        hostPaths.toString()); // those four: nothing else of the node is mounted

    JsonNode podSec = pod.path("securityContext");
    JsonNode sec = kms.path("securityContext");
    assertEquals(
        0, podSec.path("runAsUser").asInt(-1), "uid 0: configfs-tsm and CCEL are root-owned");
    assertEquals("[\"ALL\"]", sec.path("capabilities").path("drop").toString());
    assertTrue(sec.path("capabilities").path("add").isMissingNode(), "no capability is added");
    assertFalse(sec.path("privileged").asBoolean(true));
    assertFalse(sec.path("allowPrivilegeEscalation").asBoolean(true));
    assertTrue(sec.path("readOnlyRootFilesystem").asBoolean(false));
    assertEquals(
        "kata-qemu-tdx", pod.path("runtimeClassName").asText(), "the pod must run in its own TD");
  }
}
