package org.teekms.attest.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** This module's tests run without the tee-simulator jar, as production artifacts do. */
class GpuSimulationTest {

  @Test
  void withoutTheSimulatorJarLoadingFailsNamingTheSettingAndTheMissingModule() {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> GpuSimulation.load("teekms.gpu.verification=simulator"));
    assertEquals(
        "teekms.gpu.verification=simulator asks for simulated GPUs, but the tee-simulator module is not "
            + "on the class path: production artifacts do not contain it (it is for tests, the demo and the load "
            + "generator; a KMS is given its jar with teekms.simulator.classpath)",
        e.getMessage());
  }
}
