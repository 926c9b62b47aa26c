package org.teekms.deploy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.teekms.agent.AgentConfig;

/**
 * The README's configuration reference names only keys that exist in kms-server and the guest
 * agent.
 */
class ReadmeConfigReferenceTest {
  private static final Pattern KEY = Pattern.compile("`([a-z][a-z0-9-]*(?:\\.[a-z0-9-]+)+)`");

  @Test
  void kmsKeysExist() {
    KmsConfigCatalog catalog = KmsConfigCatalog.load();
    List<String> keys = firstColumnKeys("**KMS**");
    assertTrue(keys.size() >= 25, "KMS table: " + keys);
    for (String key : keys) {
      assertTrue(
          catalog.find(key).isPresent(),
          "README names " + key + ", which kms-server does not read");
    }
  }

  @Test
  void agentKeysExist() {
    List<String> keys = firstColumnKeys("**Guest agent**");
    assertTrue(keys.size() >= 35, "agent table: " + keys);
    for (String key : keys) {
      assertTrue(
          AgentConfig.KEYS.contains(key),
          "README names " + key + ", which the agent's AgentSettings does not map");
    }
  }

  /**
   * Keys in the first column of the table that follows {@code heading} in the configuration
   * reference.
   */
  private static List<String> firstColumnKeys(String heading) {
    String readme = Repo.text("README.md");
    String section = readme.substring(readme.indexOf("## Configuration reference"));
    String rest = section.substring(section.indexOf(heading));
    List<String> keys = new ArrayList<>();
    boolean inTable = false;
    for (String line : rest.split("\n")) {
      if (line.startsWith("|")) {
        inTable = true;
        String first = line.split("(?<!\\\\)\\|")[1];
        Matcher m = KEY.matcher(first);
        while (m.find()) {
          keys.add(m.group(1));
        }
      } else if (inTable) {
        break;
      }
    }
    return keys;
  }
}
