package org.teekms.agent.proxy;

import java.time.Duration;

/**
 * Bounds on the public {@code GET /v1/attestation/report}, which costs a fresh TDX quote and GPU
 * evidence per call (guest-agent/README.md, "Signing proxy").
 *
 * @param requestsPerMinute sustained reports one source address may ask for per minute ({@code
 *     proxy.report-requests-per-minute}); over it: 429 with Retry-After, before any work
 * @param burst reports a source may ask for at once before the sustained rate applies ({@code
 *     proxy.report-burst})
 * @param maxSources source addresses tracked at once, least recently seen forgotten first ({@code
 *     proxy.report-max-sources})
 * @param concurrent reports made at once, all sources together ({@code proxy.report-concurrent});
 *     one more is answered 503 at once
 * @param cacheTtl how long a report asked for without a nonce is served again to the same request
 *     shape (signer and algorithm) with its nonce ({@code proxy.report-cache-ms}); zero makes a
 *     fresh one every time. A request with a nonce always gets a fresh quote over that nonce.
 */
public record ReportLimits(
    int requestsPerMinute, int burst, int maxSources, int concurrent, Duration cacheTtl) {

  /** 120 per minute and a burst of 60 per source, 10,000 sources, 2 at once, 5 s cache. */
  public static final ReportLimits DEFAULT =
      new ReportLimits(120, 60, 10_000, 2, Duration.ofSeconds(5));

  public ReportLimits {
    if (requestsPerMinute < 1) {
      throw new IllegalArgumentException(
          "proxy.report-requests-per-minute must be at least 1, got " + requestsPerMinute);
    }
    if (burst < 1) {
      throw new IllegalArgumentException("proxy.report-burst must be at least 1, got " + burst);
    }
    if (maxSources < 1) {
      throw new IllegalArgumentException(
          "proxy.report-max-sources must be at least 1, got " + maxSources);
    }
    if (concurrent < 1) {
      throw new IllegalArgumentException(
          "proxy.report-concurrent must be at least 1, got " + concurrent);
    }
    if (cacheTtl.isNegative()) {
      throw new IllegalArgumentException(
          "proxy.report-cache-ms must not be negative, got " + cacheTtl.toMillis());
    }
  }
}
