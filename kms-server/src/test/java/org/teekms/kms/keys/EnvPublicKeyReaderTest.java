package org.teekms.kms.keys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.smallrye.mutiny.Uni;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.teekms.keys.AppId;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.DstackEnvKeySignature;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.Purpose;
import org.teekms.keys.RootKeyring;
import org.teekms.keys.SignatureChain;
import org.teekms.keys.SignatureChainVerifier;
import org.teekms.kms.admission.AdmissionDenied;
import org.teekms.kms.admission.DenyCode;
import org.teekms.kms.grpc.SourceRateLimiter;
import org.teekms.kms.keystate.AppKeyState;
import org.teekms.kms.operator.RegistryOwnerPort;

/**
 * AppEnv's answer: the env-encryption public key GetAppKeys would release privately for the app's
 * current on-chain version, certified by the KMS root (dstack's signatures and our chain), and
 * every refusal with its code.
 */
class EnvPublicKeyReaderTest {
  private static final byte[] APP = new byte[20];
  private static final String BLOCK = "0x" + "ab".repeat(32);
  private static final Clock CLOCK =
      Clock.fixed(Instant.ofEpochSecond(1_800_000_000L), ZoneOffset.UTC);

  static {
    APP[0] = 0x42;
  }

  private static RegistryOwnerPort chain(RegistryOwnerPort.AppVersionsRead versions) {
    return new RegistryOwnerPort() {
      @Override
      public OwnerRead owner() {
        return new OwnerRead("0x" + "00".repeat(20), false, 77, BLOCK, null);
      }

      @Override
      public AppVersionsRead appVersions(AppId appId, String blockHash) {
        assertEquals(BLOCK, blockHash, "versions are read at the pinned block");
        return versions;
      }

      @Override
      public ContractSignatureRead isValidSignature(String c, byte[] d, byte[] s, String b) {
        throw new AssertionError("not used");
      }
    };
  }

  @Test
  void answersTheCurrentVersionsKeyCertifiedByTheKmsRoot() {
    try (RootKeyring ring =
        new RootKeyring(1, RootKeyring.generateRootSecret(new SecureRandom()))) {
      KmsKeyDeriver deriver = new KmsKeyDeriver(ring);
      EnvPublicKeyReader reader =
          new EnvPublicKeyReader(
              chain(new RegistryOwnerPort.AppVersionsRead(3, 2, null)),
              31337,
              app -> uni(Optional.empty()),
              () -> uni(deriver),
              CLOCK);
      EnvPublicKeyReader.Answer a = reader.read(APP).await().indefinitely();
      assertEquals(3, a.key().version());
      assertEquals(1, a.key().generation());
      assertEquals(77, a.block().number());
      ReleasedAppKeys released =
          AppKeyIssuer.issue(
              deriver,
              new org.teekms.keys.VersionRef(1, AppId.of(APP), 3),
              Optional.empty(),
              new KeyVersionPolicy(3, 2, Set.of()));
      assertArrayEquals(
          released.envEncryptionCertificate().publicKey().toByteArray(),
          a.key().publicKey().toByteArray(),
          "the public half of the key GetAppKeys releases for that version");
      try (DerivedKey root = deriver.kmsRootKey(1)) {
        assertArrayEquals(
            root.publicKey(),
            DstackEnvKeySignature.recoverSigner(
                    DstackEnvKeySignature.message(
                        AppId.of(APP), 1_800_000_000L, a.key().publicKey().toByteArray()),
                    a.key().signatureV1().toByteArray())
                .orElseThrow());
        assertArrayEquals(
            root.publicKey(),
            DstackEnvKeySignature.recoverSigner(
                    DstackEnvKeySignature.legacyMessage(
                        AppId.of(APP), a.key().publicKey().toByteArray()),
                    a.key().legacySignature().toByteArray())
                .orElseThrow());
        var chain = new SignatureChain(a.key().appRootCertificate(), a.key().envCertificate());
        assertTrue(new SignatureChainVerifier(root.ethereumAddress()).verify(chain).valid());
        assertEquals(Purpose.ENV_ENCRYPTION, a.key().envCertificate().key().purpose());
        assertEquals(3, a.key().appRootCertificate().version());
      }
    }
  }

  @Test
  void aVersionAlreadyCreatedKeepsTheGenerationItWasPinnedTo() {
    try (RootKeyring ring =
        new RootKeyring(1, RootKeyring.generateRootSecret(new SecureRandom()))) {
      ring.addCurrent(2, RootKeyring.generateRootSecret(new SecureRandom()));
      KmsKeyDeriver deriver = new KmsKeyDeriver(ring);
      AppKeyState known =
          new AppKeyState(AppId.of(APP), 1, 1, 0, List.of(new AppKeyState.KeyVersion(1, 1)));
      EnvPublicKeyReader pinned =
          new EnvPublicKeyReader(
              chain(new RegistryOwnerPort.AppVersionsRead(1, 1, null)),
              1,
              app -> uni(Optional.of(known)),
              () -> uni(deriver),
              CLOCK);
      assertEquals(1, pinned.read(APP).await().indefinitely().key().generation());
      EnvPublicKeyReader fresh =
          new EnvPublicKeyReader(
              chain(new RegistryOwnerPort.AppVersionsRead(2, 1, null)),
              1,
              app -> uni(Optional.of(known)),
              () -> uni(deriver),
              CLOCK);
      assertEquals(
          2,
          fresh.read(APP).await().indefinitely().key().generation(),
          "a version not created yet: the CURRENT generation");
    }
  }

  @Test
  void refusalsCarryTheirCodes() {
    try (RootKeyring ring =
        new RootKeyring(1, RootKeyring.generateRootSecret(new SecureRandom()))) {
      KmsKeyDeriver deriver = new KmsKeyDeriver(ring);
      assertEquals(
          DenyCode.REQUEST_INVALID,
          code(
              new EnvPublicKeyReader(
                  chain(null), 1, a -> uni(Optional.empty()), () -> uni(deriver), CLOCK),
              new byte[19]));
      assertEquals(
          DenyCode.APP_NOT_REGISTERED,
          code(
              new EnvPublicKeyReader(
                  chain(RegistryOwnerPort.AppVersionsRead.unregistered("app is not REGISTERED")),
                  1,
                  a -> uni(Optional.empty()),
                  () -> uni(deriver),
                  CLOCK),
              APP));
      assertEquals(
          DenyCode.CHAIN_UNAVAILABLE,
          code(
              new EnvPublicKeyReader(
                  chain(RegistryOwnerPort.AppVersionsRead.failed("rpc down")),
                  1,
                  a -> uni(Optional.empty()),
                  () -> uni(deriver),
                  CLOCK),
              APP));
      assertEquals(
          DenyCode.CHAIN_UNAVAILABLE,
          code(
              new EnvPublicKeyReader(
                  chain(new RegistryOwnerPort.AppVersionsRead(1, 2, null)),
                  1,
                  a -> uni(Optional.empty()),
                  () -> uni(deriver),
                  CLOCK),
              APP));
      assertEquals(
          DenyCode.CHAIN_UNAVAILABLE,
          code(
              new EnvPublicKeyReader(
                  RegistryOwnerPort.unconfigured(),
                  1,
                  a -> uni(Optional.empty()),
                  () -> uni(deriver),
                  CLOCK),
              APP));
      assertEquals(
          DenyCode.KMS_UNAVAILABLE,
          code(
              new EnvPublicKeyReader(
                  chain(new RegistryOwnerPort.AppVersionsRead(1, 1, null)),
                  1,
                  a -> {
                    throw new IllegalStateException("db down");
                  },
                  () -> uni(deriver),
                  CLOCK),
              APP));
      assertEquals(
          DenyCode.KMS_UNAVAILABLE,
          code(
              new EnvPublicKeyReader(
                  chain(new RegistryOwnerPort.AppVersionsRead(1, 1, null)),
                  1,
                  a -> Uni.createFrom().failure(new IllegalStateException("db timed out")),
                  () -> uni(deriver),
                  CLOCK),
              APP),
          "a failed reactive read");
    }
  }

  private static DenyCode code(EnvPublicKeyReader reader, byte[] app) {
    return assertThrows(AdmissionDenied.class, () -> reader.read(app).await().indefinitely())
        .code();
  }

  private static <T> Uni<T> uni(T item) {
    return Uni.createFrom().item(item);
  }

  @Test
  void theRateLimiterAllowsABurstThenTheSustainedRatePerSource() {
    AtomicLong now = new AtomicLong(5_000_000_000L);
    SourceRateLimiter limiter = new SourceRateLimiter(60, 3, 2, now::get);
    for (int i = 0; i < 3; i++) {
      assertTrue(limiter.tryAcquire("10.0.0.1"));
    }
    assertFalse(limiter.tryAcquire("10.0.0.1"), "burst spent");
    assertTrue(limiter.tryAcquire("10.0.0.2"), "another source has its own budget");
    now.addAndGet(999_000_000L);
    assertFalse(limiter.tryAcquire("10.0.0.1"), "60/min = one token per second");
    now.addAndGet(2_000_000L);
    assertTrue(limiter.tryAcquire("10.0.0.1"));
    limiter.tryAcquire("10.0.0.3");
    assertThrows(IllegalArgumentException.class, () -> new SourceRateLimiter(0, 1, 1, now::get));
  }
}
