package org.teekms.kms.grant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;

class GrantValueTest {
  private static final UUID ID = UUID.randomUUID();
  private static final Optional<AppId> APP = Optional.of(AppId.fromHex("a1".repeat(20)));
  private static final PolicyBlockRef BLOCK = new PolicyBlockRef(31337, 42, new byte[32]);

  private static Grant grant(byte[] instance) {
    return new Grant(
        ID,
        Grant.Kind.APP_KEYS,
        APP,
        Bytes.copyOf(instance),
        List.of(1, 2),
        1,
        BLOCK,
        Map.of("k", "v"));
  }

  @Test
  void grantsWithTheSameInstanceBytesAreEqual() {
    assertEquals(grant(new byte[] {1, 2}), grant(new byte[] {1, 2}));
    assertEquals(grant(new byte[] {1, 2}).hashCode(), grant(new byte[] {1, 2}).hashCode());
    assertNotEquals(grant(new byte[] {1, 2}), grant(new byte[] {1, 3}));
  }

  @Test
  void anAppGrantNeedsAnAppIdAndAnOnboardingGrantNone() {
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new Grant(
                ID,
                Grant.Kind.APP_KEYS,
                Optional.empty(),
                Bytes.EMPTY,
                List.of(),
                1,
                BLOCK,
                Map.of()));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new Grant(ID, Grant.Kind.ONBOARDING, APP, Bytes.EMPTY, List.of(), 1, BLOCK, Map.of()));
  }
}
