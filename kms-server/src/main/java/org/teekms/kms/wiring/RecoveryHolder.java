package org.teekms.kms.wiring;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.teekms.kms.custody.NodeRecovery;

/**
 * The root recovery this node runs, if any: set at startup ({@link KmsStartup}), read by the
 * Recovery service.
 */
@ApplicationScoped
public class RecoveryHolder {

  private final AtomicReference<NodeRecovery> current = new AtomicReference<>();

  public Optional<NodeRecovery> current() {
    return Optional.ofNullable(current.get());
  }

  void start(NodeRecovery recovery) {
    if (!current.compareAndSet(null, recovery))
      throw new IllegalStateException("a recovery is already running");
  }
}
