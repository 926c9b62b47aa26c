package org.teekms.kms.tls;

import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;
import org.teekms.attest.provider.QuoteProviderException;

/**
 * Renews the KMS's RA-TLS certificate before it expires ({@link RaTlsSetup#renewIfDue}); checked
 * every 10 minutes.
 */
@ApplicationScoped
public class RaTlsRenewal {

  private static final Logger LOG = Logger.getLogger(RaTlsRenewal.class);

  private final RaTlsSetup setup;

  public RaTlsRenewal(RaTlsSetup setup) {
    this.setup = setup;
  }

  @Scheduled(
      every = "10m",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP,
      delayed = "1m")
  void renew() {
    try {
      setup.renewIfDue();
    } catch (QuoteProviderException | RuntimeException e) {
      LOG.warnf(
          "RA-TLS: certificate renewal failed (the current one stays until it expires; will retry): %s",
          e.getMessage());
    }
  }
}
