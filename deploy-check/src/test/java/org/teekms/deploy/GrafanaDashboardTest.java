package org.teekms.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * deploy/grafana/teekms-dashboard.json: every series a panel queries is a meter kms-server
 * registers (with the Prometheus suffix its type produces), histogram buckets only of timers that
 * publish a histogram.
 */
class GrafanaDashboardTest {
  private static final Pattern BUILDER =
      Pattern.compile(
          "(Counter|FunctionCounter|Timer|Gauge|DistributionSummary)\\.builder\\(\\s*\"([a-z0-9.]+)\"([^;]*);",
          Pattern.DOTALL);
  private static final Pattern SERIES = Pattern.compile("\\b(teekms_[a-z0-9_]+)");

  /** kms-server's meters: Prometheus base name → (type, publishes a histogram). */
  static Map<String, String> meters() throws IOException {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> s = Files.walk(Repo.path("kms-server/src/main/java"))) {
      for (Path f : s.filter(p -> p.toString().endsWith(".java")).toList()) {
        Matcher m = BUILDER.matcher(Files.readString(f));
        while (m.find()) {
          String type = m.group(1).replace("FunctionCounter", "Counter");
          boolean histogram = m.group(3).contains("publishPercentileHistogram()");
          out.merge(
              m.group(2).replace('.', '_'),
              type + (histogram ? "+histogram" : ""),
              (a, b) -> a.contains("histogram") ? a : b);
        }
      }
    }
    return out;
  }

  /** The series names a meter of this type exposes in Prometheus format. */
  static Set<String> series(String base, String type) {
    Set<String> out = new HashSet<>();
    switch (type.replace("+histogram", "")) {
      case "Counter" -> out.add(base + "_total");
      case "Gauge" -> out.add(base);
      case "Timer" ->
          out.addAll(
              List.of(base + "_seconds_count", base + "_seconds_sum", base + "_seconds_max"));
      default -> out.addAll(List.of(base + "_count", base + "_sum", base + "_max"));
    }
    if (type.endsWith("+histogram")) {
      out.add(base + (type.startsWith("Timer") ? "_seconds_bucket" : "_bucket"));
    }
    return out;
  }

  static List<String> exprs(JsonNode dashboard) {
    List<String> out = new ArrayList<>();
    dashboard
        .path("panels")
        .forEach(p -> p.path("targets").forEach(t -> out.add(t.path("expr").asText())));
    dashboard
        .path("templating")
        .path("list")
        .forEach(
            v -> {
              if (v.has("definition")) {
                out.add(v.path("definition").asText());
              }
            });
    return out;
  }

  /** Series of the expressions that kms-server does not expose. */
  static List<String> unknownSeries(List<String> exprs, Map<String, String> meters) {
    Set<String> known = new HashSet<>();
    meters.forEach((base, type) -> known.addAll(series(base, type)));
    List<String> unknown = new ArrayList<>();
    for (String e : exprs) {
      Matcher m = SERIES.matcher(e);
      while (m.find()) {
        if (!known.contains(m.group(1))) {
          unknown.add(m.group(1));
        }
      }
    }
    return unknown;
  }

  @Test
  void everyPanelQueriesRealKmsMetrics() throws IOException {
    JsonNode d =
        new ObjectMapper().readTree(Repo.path("deploy/grafana/teekms-dashboard.json").toFile());
    assertEquals("teekms-kms", d.path("uid").asText());
    Map<String, String> meters = meters();
    assertTrue(
        meters.containsKey("teekms_admission")
            && meters.get("teekms_admission").endsWith("+histogram"),
        meters.toString());
    List<String> exprs = exprs(d);
    assertTrue(exprs.size() >= 10, exprs.toString());
    for (String e : exprs) {
      assertFalse(e.isBlank(), "a panel without a query");
    }
    assertEquals(
        List.of(),
        unknownSeries(exprs, meters),
        "series kms-server does not expose (it has " + meters + ")");
    // Every kms-server meter appears on the dashboard.
    for (String base : meters.keySet()) {
      assertTrue(exprs.stream().anyMatch(e -> e.contains(base)), base + " is on no panel");
    }
    // Every panel's query uses the dashboard's datasource variable.
    d.path("panels")
        .forEach(
            p ->
                assertEquals(
                    "${datasource}",
                    p.path("datasource").path("uid").asText(),
                    p.path("title").asText()));
  }

  @Test
  void theCheckHasTeeth() throws IOException {
    Map<String, String> meters = meters();
    assertEquals(
        List.of("teekms_admissions_count"),
        unknownSeries(List.of("rate(teekms_admissions_count[5m])"), meters));
    assertEquals(
        List.of("teekms_cache_requests_seconds_bucket"),
        unknownSeries(List.of("teekms_cache_requests_seconds_bucket"), meters));
    assertEquals(
        List.of("teekms_admision_seconds_bucket"),
        unknownSeries(
            List.of("histogram_quantile(0.99, rate(teekms_admision_seconds_bucket[5m]))"), meters));
    assertEquals(
        List.of(),
        unknownSeries(
            List.of("teekms_admission_seconds_bucket", "teekms_apps_rotation_due"), meters));
  }
}
