package org.teekms.kms.wiring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The production sealing provider refuses incomplete or malformed configuration with the key to
 * fix.
 */
class LocalKeyProviderConfigTest {

  static KmsConfig.Sealing sealing(
      Optional<String> address, Optional<String> mrEnclave, List<String> tcb) {
    return new KmsConfig.Sealing() {
      public String provider() {
        return "local-sgx";
      }

      public Optional<Path> keyFile() {
        return Optional.empty();
      }

      public Optional<String> providerAddress() {
        return address;
      }

      public Optional<String> providerMrenclave() {
        return mrEnclave;
      }

      public Duration providerTimeout() {
        return Duration.ofSeconds(1);
      }

      public List<String> providerAcceptedTcbStatuses() {
        return tcb;
      }

      public String collateralUrl() {
        return "https://pccs.invalid:8081";
      }
    };
  }

  static String refusal(KmsConfig.Sealing s) {
    return assertThrows(
            RuntimeException.class,
            () -> KmsBeans.localKeyProvider(s, java.time.Duration.ofHours(24)))
        .getMessage();
  }

  @Test
  void missingOrMalformedSettingsAreRefusedByName() {
    String mr = "ab".repeat(32);
    assertTrue(
        refusal(sealing(Optional.empty(), Optional.of(mr), List.of("UpToDate")))
            .contains("needs teekms.sealing.provider-address"));
    assertTrue(
        refusal(sealing(Optional.of("10.0.2.2:3443"), Optional.empty(), List.of("UpToDate")))
            .contains("needs teekms.sealing.provider-mrenclave"));
    assertEquals(
        "teekms.sealing.provider-mrenclave must be 64 hex digits (32 bytes)",
        refusal(sealing(Optional.of("10.0.2.2:3443"), Optional.of("ab"), List.of("UpToDate"))));
    assertTrue(
        refusal(sealing(Optional.of("10.0.2.2"), Optional.of(mr), List.of("UpToDate")))
            .contains("is not host:port"));
    refusal(sealing(Optional.of("10.0.2.2:3443"), Optional.of(mr), List.of("Fine")));

    var ok =
        KmsBeans.localKeyProvider(
            sealing(Optional.of("10.0.2.2:3443"), Optional.of(mr), List.of("UpToDate")),
            java.time.Duration.ofHours(24));
    assertFalse(ok.simulated());
    assertTrue(
        ok.describe().contains("10.0.2.2:3443") && ok.describe().contains(mr), ok.describe());
  }
}
