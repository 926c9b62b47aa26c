package org.teekms.deploy;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/** YAML files (several documents per file allowed), each document required to be a mapping. */
final class Yaml {
  /** Duplicate keys are errors: YAML would otherwise keep the last one silently. */
  private static final YAMLMapper YAML =
      YAMLMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

  private Yaml() {}

  static List<JsonNode> documents(String relative) {
    return documents(relative, Repo.text(relative));
  }

  static List<JsonNode> documents(String name, String text) {
    List<JsonNode> docs = new ArrayList<>();
    try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(text)) {
      while (it.hasNextValue()) {
        JsonNode doc = it.nextValue();
        if (doc == null || doc.isNull() || doc.isMissingNode()) {
          continue;
        }
        if (!doc.isObject()) {
          throw new IllegalArgumentException(name + ": a document is not a mapping: " + doc);
        }
        docs.add(doc);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(name + ": " + e.getMessage(), e);
    }
    if (docs.isEmpty()) {
      throw new IllegalArgumentException(name + ": no YAML document");
    }
    return docs;
  }

  static JsonNode single(String relative) {
    List<JsonNode> docs = documents(relative);
    if (docs.size() != 1) {
      throw new IllegalArgumentException(relative + ": expected one document, got " + docs.size());
    }
    return docs.get(0);
  }
}
