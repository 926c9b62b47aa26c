package org.teekms.agent;

import io.smallrye.config.ConfigMappings;
import io.smallrye.config.ConfigValidationException;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The agent's configuration: a Java properties file (default {@code /etc/teekms/agent.properties})
 * read into {@link AgentSettings} with standalone SmallRye Config (no system properties, no
 * environment, no {@code ${…}} expansion: the file alone). Every key is documented in
 * guest-agent/README.md.
 *
 * <p>What it accepts: values are trimmed, and a blank value counts as absent (its default applies).
 * Unknown keys are an error (a typo must not silently drop a setting), and so is every value that
 * does not convert, at load time, before anything starts. Each error is one line that names the
 * key: {@code unknown configuration keys: [kms.hots]}, {@code configuration key app.id is
 * required}, {@code kms.port must be an integer, got abc}, {@code env.required must be true or
 * false, got yes} (formats: {@link AgentConverters}).
 */
public final class AgentConfig {
  /** Every key of the file: the names of {@link AgentSettings}. */
  public static final Set<String> KEYS = keys();

  private static final Pattern REQUIRED =
      Pattern.compile("SRCFG00014: The config property (\\S+) is required");
  private static final Pattern CONVERSION =
      Pattern.compile(
          "SRCFG00039: The config property (\\S+) with the config value \".*\" threw an Exception"
              + " whilst being converted (.*)",
          Pattern.DOTALL);

  private final AgentSettings settings;

  /**
   * @throws IllegalArgumentException one line naming the first unknown key, missing key or bad
   *     value
   */
  public AgentConfig(Properties p) {
    Set<String> unknown = new TreeSet<>(p.stringPropertyNames());
    unknown.removeAll(KEYS);
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException("unknown configuration keys: " + unknown);
    }
    Map<String, String> values = new HashMap<>();
    for (String key : p.stringPropertyNames()) {
      String v = p.getProperty(key).trim();
      if (!v.isEmpty()) {
        values.put(key, v);
      }
    }
    SmallRyeConfig config;
    try {
      config =
          builder()
              .withSources(new PropertiesConfigSource(values, "agent configuration", 100))
              .build();
    } catch (ConfigValidationException e) {
      throw new IllegalArgumentException(inWords(e.getProblem(0).getMessage()));
    }
    this.settings = config.getConfigMapping(AgentSettings.class);
  }

  public static AgentConfig load(Path file) throws IOException {
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(file)) {
      p.load(in);
    }
    return new AgentConfig(p);
  }

  public AgentSettings settings() {
    return settings;
  }

  /** {@code value}, or the error of a missing key. */
  public static <T> T required(String key, Optional<T> value) {
    return value.orElseThrow(
        () -> new IllegalArgumentException("configuration key " + key + " is required"));
  }

  /**
   * The first line of a secret file (tokens live in files with tight modes, never in this file).
   */
  public static Optional<String> secretFile(String key, Optional<Path> path) throws IOException {
    if (path.isEmpty()) {
      return Optional.empty();
    }
    String first = Files.readAllLines(path.get()).stream().findFirst().orElse("").strip();
    if (first.isEmpty()) {
      throw new IllegalArgumentException(key + " points to an empty file");
    }
    return Optional.of(first);
  }

  private static SmallRyeConfigBuilder builder() {
    return new SmallRyeConfigBuilder()
        .withConverter(Integer.class, 200, new AgentConverters.Ints())
        .withConverter(Long.class, 200, new AgentConverters.Longs())
        .withConverter(Boolean.class, 200, new AgentConverters.Bools())
        .withConverter(AgentSettings.TeeProvider.class, 200, new AgentConverters.TeeProviders())
        .withConverter(AgentSettings.GpuProvider.class, 200, new AgentConverters.GpuProviders())
        .withMapping(AgentSettings.class)
        // unknown keys are refused above, in one line that names them all
        .withValidateUnknown(false);
  }

  /** SmallRye's wording of a problem, in ours. */
  static String inWords(String problem) {
    Matcher m = REQUIRED.matcher(problem);
    if (m.find()) {
      return "configuration key " + m.group(1) + " is required";
    }
    m = CONVERSION.matcher(problem);
    if (m.find()) {
      return m.group(1) + " " + m.group(2);
    }
    return problem.replaceFirst("^SRCFG\\d+: ", "");
  }

  private static Set<String> keys() {
    Set<String> keys = new TreeSet<>();
    for (String name :
        ConfigMappings.getProperties(
                ConfigMappings.ConfigClass.configClass(AgentSettings.class, ""))
            .keySet()) {
      // a list's indexed form (kms.registered-measurements[0]) is not used here
      keys.add(name.replaceAll("\\[\\*?\\]$", ""));
    }
    return Collections.unmodifiableSet(keys);
  }
}
