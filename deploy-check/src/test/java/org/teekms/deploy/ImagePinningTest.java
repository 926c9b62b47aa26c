package org.teekms.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every image in deploy/ is pinned by digest: a registered compose hash or KMS measurement covers
 * the text, so a tag moved later would run other code under the same registration. The examples
 * carry an all-zero PLACEHOLDER digest (a real one cannot be looked up from where they are written,
 * and an invented one would look real); a production directory, given with
 * -Ddeploy-check.production-dir=DIR (an operator's overlay or rendered manifests), must use real
 * digests only.
 */
class ImagePinningTest {
  static final Pattern IMAGE =
      Pattern.compile("(?m)^\\s*(?:-\\s*)?(?:image:|FROM)\\s+\"?([^\\s\"#]+)");
  static final Pattern PINNED =
      Pattern.compile("[a-z0-9][a-z0-9./_-]*:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}");
  static final String PLACEHOLDER = "@sha256:" + "0".repeat(64);

  static List<String> images(String text) {
    List<String> out = new ArrayList<>();
    Matcher m = IMAGE.matcher(text);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  /** Problems of one file: images not pinned by digest, and (in production) placeholder digests. */
  static List<String> problems(String name, String text, boolean production) {
    List<String> out = new ArrayList<>();
    for (String image : images(text)) {
      if (!PINNED.matcher(image).matches()) {
        out.add(name + ": " + image + " is not pinned by digest (name:tag@sha256:<64 hex>)");
      } else if (production && image.endsWith(PLACEHOLDER)) {
        out.add(
            name
                + ": "
                + image
                + " still has the PLACEHOLDER digest; set the digest of the image you run");
      }
    }
    return out;
  }

  static List<Path> deployFiles(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile)
          .filter(
              p -> {
                String n = p.getFileName().toString();
                return n.endsWith(".yaml")
                    || n.endsWith(".yml")
                    || n.endsWith(".json")
                    || n.endsWith("Dockerfile");
              })
          .sorted()
          .toList();
    }
  }

  @Test
  void everyImageInDeployIsPinnedByDigestAndPlaceholdersAreMarked() throws IOException {
    int images = 0;
    for (Path f : deployFiles(Repo.path("deploy"))) {
      String text = Files.readString(f, StandardCharsets.UTF_8);
      String name = Repo.root().relativize(f).toString();
      if (name.endsWith(".json")) {
        // app-compose.json embeds the compose file as a JSON string; its twin docker-compose.yaml
        // is checked.
        continue;
      }
      assertEquals(List.of(), problems(name, text, false));
      for (String line : text.lines().toList()) {
        if (line.contains(PLACEHOLDER)) {
          assertTrue(
              line.contains("PLACEHOLDER") || precededByPlaceholderComment(text, line),
              name + ": a placeholder digest must say so: " + line);
        }
      }
      images += images(text).size();
    }
    assertTrue(images >= 5, "found only " + images + " images in deploy/");
  }

  @Test
  void theProductionCheckRefusesPlaceholdersAndTags() {
    String tagged = "services:\n  vllm:\n    image: vllm/vllm-openai:v0.8.5\n";
    String placeholder =
        "spec:\n  containers:\n    - image: teekms/kms-server:0.1.0" + PLACEHOLDER + "\n";
    String real = "FROM eclipse-temurin:17-jre@sha256:" + "ab12".repeat(16) + "\n";
    assertEquals(1, problems("tagged", tagged, false).size());
    assertEquals(List.of(), problems("placeholder", placeholder, false));
    assertEquals(1, problems("placeholder", placeholder, true).size());
    assertEquals(List.of(), problems("real", real, true));
    assertEquals(
        List.of(
            "latest: nginx@sha256:"
                + "ab12".repeat(16)
                + " is not pinned by digest (name:tag@sha256:<64 hex>)"),
        problems("latest", "image: nginx@sha256:" + "ab12".repeat(16), true));
  }

  /** -Ddeploy-check.production-dir=DIR: an operator's manifests, checked for real digests. */
  @Test
  void aProductionDirectoryUsesRealDigestsOnly() throws IOException {
    String dir = System.getProperty("deploy-check.production-dir", "");
    org.junit.jupiter.api.Assumptions.assumeFalse(
        dir.isBlank(), "no -Ddeploy-check.production-dir given: nothing to check for production");
    List<String> problems = new ArrayList<>();
    for (Path f : deployFiles(Path.of(dir))) {
      problems.addAll(problems(f.toString(), Files.readString(f, StandardCharsets.UTF_8), true));
    }
    assertEquals(List.of(), problems);
  }

  private static boolean precededByPlaceholderComment(String text, String line) {
    int at = text.indexOf(line);
    String before = text.substring(Math.max(0, at - 400), at);
    return before.contains("PLACEHOLDER");
  }
}
