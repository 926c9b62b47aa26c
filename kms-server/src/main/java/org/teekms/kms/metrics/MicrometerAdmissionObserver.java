package org.teekms.kms.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import org.teekms.kms.admission.AdmissionObserver;
import org.teekms.kms.admission.DenyCode;

/**
 * Prometheus metrics of admissions: {@code teekms_admissions_total{result,reason}}, {@code
 * teekms_admission_seconds} and {@code teekms_chain_read_seconds} (histograms with percentiles).
 */
@ApplicationScoped
public class MicrometerAdmissionObserver implements AdmissionObserver {

  private final MeterRegistry registry;
  private final Timer admission;
  private final Timer chainRead;
  private final java.util.concurrent.ConcurrentMap<String, Counter> counters =
      new java.util.concurrent.ConcurrentHashMap<>();

  public MicrometerAdmissionObserver(MeterRegistry registry) {
    this.registry = registry;
    this.admission =
        Timer.builder("teekms.admission")
            .description("GetAppKeys decision and release time")
            .publishPercentileHistogram()
            .register(registry);
    this.chainRead =
        Timer.builder("teekms.chain.read")
            .description("On-chain policy read time")
            .publishPercentileHistogram()
            .register(registry);
  }

  @Override
  public void admitted(Duration took) {
    admission.record(took);
    counter("allowed", "").increment();
  }

  @Override
  public void denied(DenyCode code, Duration took) {
    admission.record(took);
    counter("denied", code.name()).increment();
  }

  /**
   * The admissions counter of one (result, reason), registered on its first use and then taken from
   * a map: a Micrometer lookup (meter id, tag sort, registry map) per admission was avoidable work
   * on the hot path.
   */
  private Counter counter(String result, String reason) {
    return counters.computeIfAbsent(
        result + "/" + reason,
        k ->
            Counter.builder("teekms.admissions")
                .tag("result", result)
                .tag("reason", reason)
                .register(registry));
  }

  @Override
  public void chainRead(Duration took) {
    chainRead.record(took);
  }
}
