package org.teekms.kms.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.Optional;
import org.teekms.attest.ratls.RaTlsException;
import org.teekms.attest.ratls.RaTlsVerificationListener;
import org.teekms.kms.keys.VersionKeyCache;

/**
 * Prometheus metrics of attestation and of the KMS's caches: {@code
 * teekms_attestation_verify_seconds{result}} (histogram of RA-TLS certificate verifications that
 * did the work: DCAP, event log, GPU evidence; {@code result} = {@code accepted} or the refusal
 * reason) and {@code teekms_cache_requests_total{cache,result}} ({@code cache} = {@code
 * ratls-verifier} or {@code version-keys}, {@code result} = {@code hit} or {@code miss}).
 */
@ApplicationScoped
public class AttestationMetrics implements RaTlsVerificationListener {

  private final MeterRegistry registry;
  private final Counter verifierHits;
  private final Counter verifierMisses;
  private final java.util.concurrent.ConcurrentMap<String, Timer> verifyTimers =
      new java.util.concurrent.ConcurrentHashMap<>();

  public AttestationMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.verifierHits = cacheCounter("ratls-verifier", "hit");
    this.verifierMisses = cacheCounter("ratls-verifier", "miss");
  }

  private Counter cacheCounter(String cache, String result) {
    return Counter.builder("teekms.cache.requests")
        .tag("cache", cache)
        .tag("result", result)
        .description("Cache lookups by cache and result")
        .register(registry);
  }

  @Override
  public void verified(Duration took, boolean cacheHit, Optional<RaTlsException.Reason> failure) {
    if (cacheHit) {
      verifierHits.increment();
      return;
    }
    verifierMisses.increment();
    // registered once per result, then reused (no Micrometer lookup per handshake)
    verifyTimers
        .computeIfAbsent(
            failure.map(Enum::name).orElse("accepted"),
            result ->
                Timer.builder("teekms.attestation.verify")
                    .description("RA-TLS certificate verification (DCAP, event log, GPU)")
                    .tag("result", result)
                    .publishPercentileHistogram()
                    .register(registry))
        .record(took);
  }

  /** Exports the hit and miss counts of the admission path's version-key cache. */
  public void watch(VersionKeyCache cache) {
    FunctionCounter.builder("teekms.cache.requests", cache, VersionKeyCache::hits)
        .tag("cache", "version-keys")
        .tag("result", "hit")
        .description("Cache lookups by cache and result")
        .register(registry);
    FunctionCounter.builder("teekms.cache.requests", cache, VersionKeyCache::misses)
        .tag("cache", "version-keys")
        .tag("result", "miss")
        .description("Cache lookups by cache and result")
        .register(registry);
  }
}
