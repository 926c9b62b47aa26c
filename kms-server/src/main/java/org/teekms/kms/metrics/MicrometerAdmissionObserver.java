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
    Counter.builder("teekms.admissions")
        .tag("result", "allowed")
        .tag("reason", "")
        .register(registry)
        .increment();
  }

  @Override
  public void denied(DenyCode code, Duration took) {
    admission.record(took);
    Counter.builder("teekms.admissions")
        .tag("result", "denied")
        .tag("reason", code.name())
        .register(registry)
        .increment();
  }

  @Override
  public void chainRead(Duration took) {
    chainRead.record(took);
  }
}
