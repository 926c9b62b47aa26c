package org.teekms.kms.tls;

import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.teekms.attest.provider.TdxSimulation;
import org.teekms.kms.wiring.KmsConfig;

/**
 * Where the KMS looks for the tee-simulator: the jar given by {@code teekms.simulator.classpath},
 * else its own class path. Consulted only once the simulator is enabled and selected; production
 * artifacts do not contain it.
 */
final class SimulatorClassLoader {
  private SimulatorClassLoader() {}

  static ClassLoader of(KmsConfig config) {
    ClassLoader app = TdxSimulation.class.getClassLoader();
    List<Path> paths = config.simulator().classpath().orElse(List.of());
    if (paths.isEmpty()) {
      ClassLoader context = Thread.currentThread().getContextClassLoader();
      return context != null ? context : app;
    }
    URL[] urls = new URL[paths.size()];
    for (int i = 0; i < urls.length; i++) {
      Path p = paths.get(i);
      if (!Files.exists(p)) {
        throw new IllegalStateException(
            "teekms.simulator.classpath: "
                + p
                + " does not exist (the tee-simulator jar, "
                + "e.g. tee-simulator/target/tee-simulator-*.jar)");
      }
      try {
        urls[i] = p.toUri().toURL();
      } catch (MalformedURLException e) {
        throw new IllegalStateException(
            "teekms.simulator.classpath: " + p + ": " + e.getMessage(), e);
      }
    }
    // Parent: the loader of the attestation libraries, so the simulator implements their
    // interfaces, not copies.
    return new URLClassLoader("tee-simulator", urls, app);
  }
}
