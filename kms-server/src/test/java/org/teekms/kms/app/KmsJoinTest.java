package org.teekms.kms.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.vertx.mutiny.sqlclient.Pool;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;
import org.teekms.kms.audit.AuditLog;
import org.teekms.kms.keys.LiveKeyring;

/**
 * A new replica end to end: the server starts with an EMPTY database and {@code
 * teekms.onboarding.source} pointing at an existing node ({@link OnboardingSourceResource}); at
 * startup it obtains root generation 1 over mutual RA-TLS (both nodes run the deployment's KMS
 * image on the simulated platform; each checks the other against the registry stand-in) instead of
 * generating its own, so both derive the same KMS root key.
 */
@QuarkusTest
@TestProfile(KmsJoinTest.JoinProfile.class)
@QuarkusTestResource(value = OnboardingSourceResource.class, restrictToAnnotatedClass = true)
class KmsJoinTest {

  public static class JoinProfile implements QuarkusTestProfile {
    @Override
    public Map<String, String> getConfigOverrides() {
      Map<String, String> m = new HashMap<>(new RaTlsProfile().getConfigOverrides());
      m.remove("teekms.kms-id"); // from OnboardingSourceResource
      m.put("quarkus.http.test-ssl-port", String.valueOf(TestPorts.free("join")));
      return m;
    }

    @Override
    public Set<Class<?>> getEnabledAlternatives() {
      return Set.of(FakeChainPolicy.class);
    }
  }

  @Inject LiveKeyring keyring;

  @Inject Pool pool;

  @Inject AuditLog audit;

  @ConfigProperty(name = "kms-join-it.source-root-address")
  String sourceRootAddress;

  @Test
  void emptyReplicaObtainsTheRootGenerationsFromTheSourceAtStartup() {
    assertEquals(
        sourceRootAddress,
        keyring.derive(null).await().indefinitely().kmsRootKey(1).ethereumAddress().toString(),
        "the replica holds the source's generation 1, not one of its own");
    assertEquals(1, keyring.derive(null).await().indefinitely().keyring().currentGeneration());
    String kinds =
        audit.verify().await().atMost(Duration.ofSeconds(30)).valid() ? "valid" : "broken";
    assertEquals("valid", kinds);
    long onboarded =
        pool.query("SELECT count(*) FROM audit_log WHERE detail_json LIKE '%onboarded%'")
            .execute()
            .await()
            .atMost(Duration.ofSeconds(30))
            .iterator()
            .next()
            .getLong(0);
    assertTrue(onboarded >= 1, "the import is audited on the replica");
  }
}
