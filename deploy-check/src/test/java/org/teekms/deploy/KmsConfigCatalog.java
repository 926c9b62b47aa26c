package org.teekms.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithName;
import io.smallrye.config.WithParentName;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Every configuration property kms-server really reads, gathered from the real code: the Quarkus
 * extensions' configuration models on its class path ({@code
 * META-INF/quarkus-config-doc/quarkus-config-model.json}, with each property's phase), its
 * {@code @ConfigMapping} interfaces (by reflection), the literal names it reads through {@code
 * Config.getValue/getOptionalValue}, {@code @ConfigProperty} and {@code ${…}} expressions, and the
 * keys of its {@code application.properties}. Deploy files set properties as environment variables;
 * {@link #byEnv} resolves one the way SmallRye Config does (upper case, every non-alphanumeric
 * character an underscore).
 */
final class KmsConfigCatalog {
  /** Where a property is fixed: a build-time property set at deploy time has no effect. */
  enum Phase {
    RUN_TIME,
    BUILD_TIME
  }

  record Property(String name, Phase phase, String source) {}

  private static final String MODEL = "META-INF/quarkus-config-doc/quarkus-config-model.json";
  private static final Pattern LITERAL =
      Pattern.compile(
          "(?:getOptionalValue|getValue|getConfigValue)\\(\\s*\"([A-Za-z0-9.\\-]+)\""
              + "|@ConfigProperty\\(\\s*name\\s*=\\s*\"([A-Za-z0-9.\\-]+)\""
              + "|\\$\\{([a-z0-9.\\-]+)(?::[^}]*)?}");
  private static final Pattern MAPPING_CLASS =
      Pattern.compile(
          "@ConfigMapping\\b[^\\n]*\\n(?:@[^\\n]*\\n)*" + "public\\s+interface\\s+(\\w+)");

  private final Map<String, Property> exact = new TreeMap<>();
  private final List<Map.Entry<Pattern, Property>> patterns = new ArrayList<>();

  static KmsConfigCatalog load() {
    KmsConfigCatalog c = new KmsConfigCatalog();
    c.addQuarkusModels();
    Path sources = Repo.path("kms-server/src/main/java");
    c.addMappingsAndLiterals(sources);
    c.addApplicationProperties(Repo.path("kms-server/src/main/resources/application.properties"));
    return c;
  }

  private void addQuarkusModels() {
    try {
      var urls = Collections.list(getClass().getClassLoader().getResources(MODEL));
      if (urls.isEmpty()) {
        throw new IllegalStateException("no Quarkus configuration model on the class path");
      }
      ObjectMapper json = new ObjectMapper();
      for (URL url : urls) {
        try (InputStream in = url.openStream()) {
          collectModel(json.readTree(in), url.toString());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void collectModel(JsonNode node, String source) {
    if (node.isObject()) {
      JsonNode path = node.get("path");
      if (path != null && path.isObject() && path.hasNonNull("property")) {
        Phase phase =
            node.path("phase").asText("RUN_TIME").equals("RUN_TIME")
                ? Phase.RUN_TIME
                : Phase.BUILD_TIME;
        add(path.get("property").asText(), phase, source);
        for (JsonNode extra : node.path("additionalPaths")) {
          if (extra.hasNonNull("property")) {
            add(extra.get("property").asText(), phase, source);
          }
        }
      }
      node.fields().forEachRemaining(e -> collectModel(e.getValue(), source));
    } else if (node.isArray()) {
      node.forEach(n -> collectModel(n, source));
    }
  }

  private void addMappingsAndLiterals(Path sources) {
    List<Path> files;
    try (Stream<Path> s = Files.walk(sources)) {
      files = s.filter(p -> p.toString().endsWith(".java")).toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    for (Path file : files) {
      String text;
      try {
        text = Files.readString(file);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      Matcher m = LITERAL.matcher(text);
      while (m.find()) {
        String name =
            m.group(1) != null ? m.group(1) : m.group(2) != null ? m.group(2) : m.group(3);
        add(name, Phase.RUN_TIME, sources.relativize(file).toString());
      }
      Matcher cls = MAPPING_CLASS.matcher(text);
      if (cls.find()) {
        String fqcn =
            sources.relativize(file).toString().replace('/', '.').replaceAll("\\.java$", "");
        try {
          Class<?> mapping = Class.forName(fqcn);
          ConfigMapping annotation = mapping.getAnnotation(ConfigMapping.class);
          addMapping(annotation.prefix(), mapping, fqcn);
        } catch (ClassNotFoundException e) {
          throw new IllegalStateException(
              "@ConfigMapping " + fqcn + " is not on the class path", e);
        }
      }
    }
  }

  private void addMapping(String prefix, Class<?> group, String source) {
    for (Method method : group.getMethods()) {
      if (Modifier.isStatic(method.getModifiers())
          || method.isDefault()
          || method.getParameterCount() != 0) {
        continue;
      }
      String segment =
          method.isAnnotationPresent(WithName.class)
              ? method.getAnnotation(WithName.class).value()
              : kebab(method.getName());
      String name =
          method.isAnnotationPresent(WithParentName.class) ? prefix : prefix + "." + segment;
      Type type = method.getGenericReturnType();
      Class<?> raw = raw(type);
      if (raw == Optional.class) {
        type = argument(type, 0);
        raw = raw(type);
      }
      if (raw == Map.class) {
        Class<?> value = raw(argument(type, 1));
        if (isGroup(value)) {
          addMapping(name + ".*", value, source);
        } else {
          add(name + ".*", Phase.RUN_TIME, source);
        }
      } else if (isGroup(raw)) {
        addMapping(name, raw, source);
      } else {
        add(name, Phase.RUN_TIME, source);
      }
    }
  }

  private static boolean isGroup(Class<?> c) {
    return c.isInterface() && !c.getName().startsWith("java.");
  }

  private static Class<?> raw(Type t) {
    if (t instanceof Class<?> c) {
      return c;
    }
    if (t instanceof ParameterizedType p) {
      return (Class<?>) p.getRawType();
    }
    throw new IllegalStateException("unsupported configuration type " + t);
  }

  private static Type argument(Type t, int index) {
    return ((ParameterizedType) t).getActualTypeArguments()[index];
  }

  /** SmallRye Config's default naming: {@code rpcUrl} → {@code rpc-url}. */
  static String kebab(String camel) {
    StringBuilder b = new StringBuilder();
    for (char ch : camel.toCharArray()) {
      if (Character.isUpperCase(ch)) {
        if (b.length() > 0) {
          b.append('-');
        }
        b.append(Character.toLowerCase(ch));
      } else {
        b.append(ch);
      }
    }
    return b.toString();
  }

  private void addApplicationProperties(Path file) {
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(file)) {
      p.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    for (String key : p.stringPropertyNames()) {
      String name = key.startsWith("%") ? key.substring(key.indexOf('.') + 1) : key;
      if (!exact.containsKey(name) && find(name).isEmpty()) {
        add(name, Phase.RUN_TIME, "application.properties");
      }
    }
  }

  /**
   * The build-time value of {@code name} in kms-server's application.properties (default profile).
   */
  static Optional<String> applicationProperty(String name) {
    Properties p = new Properties();
    try (InputStream in =
        Files.newInputStream(Repo.path("kms-server/src/main/resources/application.properties"))) {
      p.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Optional.ofNullable(p.getProperty(name));
  }

  private void add(String name, Phase phase, String source) {
    Property property = new Property(name, phase, source);
    if (name.contains("\"") || name.contains("*")) {
      patterns.add(Map.entry(pattern(name), property));
    } else {
      exact.merge(name, property, (a, b) -> a.phase == Phase.BUILD_TIME ? a : b);
    }
  }

  /** Placeholders ({@code "datasource-name"}, {@code *}) match one segment of a property name. */
  private static Pattern pattern(String name) {
    StringBuilder regex = new StringBuilder();
    for (String part : name.split("(?=\\.)|(?<=\\.)")) {
      if (part.equals(".")) {
        regex.append("\\.");
      } else if (part.equals("*") || part.startsWith("\"")) {
        regex.append("[^.]+");
      } else {
        regex.append(Pattern.quote(part));
      }
    }
    return Pattern.compile(regex.toString());
  }

  /** The property named exactly {@code name} (placeholders matching any single segment). */
  Optional<Property> find(String name) {
    Property p = exact.get(name);
    if (p != null) {
      return Optional.of(p);
    }
    return patterns.stream()
        .filter(e -> e.getKey().matcher(name).matches())
        .map(Map.Entry::getValue)
        .findFirst();
  }

  /**
   * The property an environment variable sets, if any: the same mapping SmallRye Config applies.
   */
  Optional<Property> byEnv(String env) {
    Optional<Property> hit =
        exact.values().stream().filter(p -> envName(p.name()).equals(env)).findFirst();
    if (hit.isPresent()) {
      return hit;
    }
    return patterns.stream()
        .map(Map.Entry::getValue)
        .filter(p -> envPattern(p.name()).matcher(env).matches())
        .findFirst();
  }

  static String envName(String property) {
    return property.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(java.util.Locale.ROOT);
  }

  private static Pattern envPattern(String property) {
    StringBuilder regex = new StringBuilder();
    String[] parts = property.split("\\.");
    for (int i = 0; i < parts.length; i++) {
      if (i > 0) {
        regex.append('_');
      }
      String part = parts[i];
      if (part.equals("*") || part.startsWith("\"")) {
        regex.append("[A-Z0-9_]+");
      } else {
        regex.append(Pattern.quote(envName(part)));
      }
    }
    return Pattern.compile(regex.toString());
  }

  int size() {
    return exact.size() + patterns.size();
  }
}
