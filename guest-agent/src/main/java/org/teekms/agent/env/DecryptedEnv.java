package org.teekms.agent.env;

import java.util.List;
import java.util.Optional;

/**
 * The app's environment after {@link EnvUnsealer}: the allowed variables, and the key version whose
 * env-encryption key opened the blob (0 when the CVM was given no blob). {@link #toString()} names
 * variables only.
 */
public record DecryptedEnv(int keyVersion, List<EnvVar> vars) {
  public static final DecryptedEnv NONE = new DecryptedEnv(0, List.of());

  public DecryptedEnv {
    vars = List.copyOf(vars);
  }

  public Optional<String> value(String name) {
    return vars.stream().filter(v -> v.name().equals(name)).map(EnvVar::value).findFirst();
  }

  public List<String> names() {
    return vars.stream().map(EnvVar::name).toList();
  }

  @Override
  public String toString() {
    return "DecryptedEnv[keyVersion=" + keyVersion + ", names=" + names() + "]";
  }
}
