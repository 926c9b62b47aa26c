package org.teekms.attest.provider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** This module's tests run without the tee-simulator jar, as production artifacts do. */
class TdxSimulationTest {

  @Test
  void withoutTheSimulatorJarLoadingFailsNamingTheSettingAndTheMissingModule() {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> TdxSimulation.load("attestation.provider=simulator"));
    assertEquals(
        "attestation.provider=simulator asks for the simulated TDX platform, but the tee-simulator module "
            + "is not on the class path: production artifacts do not contain it (it is for tests, the demo and the load "
            + "generator; a KMS is given its jar with teekms.simulator.classpath)",
        e.getMessage());
  }

  @Test
  void anExplicitLoaderWithoutTheSimulatorFailsTheSameWay() {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                TdxSimulation.load(
                    "teekms.tee.quote-provider=simulator", ClassLoader.getPlatformClassLoader()));
    assertEquals(
        true,
        e.getMessage()
            .startsWith(
                "teekms.tee.quote-provider=simulator asks for the simulated TDX "
                    + "platform, but the tee-simulator module is not on the class path"),
        e.getMessage());
  }
}
