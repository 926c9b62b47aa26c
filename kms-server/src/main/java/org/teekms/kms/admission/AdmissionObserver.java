package org.teekms.kms.admission;

import java.time.Duration;

/** Receives the outcome of every admission (metrics). Must not throw and must not block. */
public interface AdmissionObserver {

  AdmissionObserver NONE =
      new AdmissionObserver() {
        @Override
        public void admitted(Duration took) {}

        @Override
        public void denied(DenyCode code, Duration took) {}

        @Override
        public void chainRead(Duration took) {}
      };

  void admitted(Duration took);

  void denied(DenyCode code, Duration took);

  void chainRead(Duration took);
}
