package org.teekms.bench;

import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.teekms.keys.AppId;
import org.teekms.keys.AppKeyDeriver;
import org.teekms.keys.AppRootSecret;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.KeyAlgorithm;
import org.teekms.keys.KeyRequest;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.RootKeyring;
import org.teekms.keys.SecretBytes;
import org.teekms.keys.SignatureChain;
import org.teekms.keys.SignatureChainVerifier;
import org.teekms.keys.VersionRef;

/**
 * Derivations per second per key type: by a guest agent holding the app root secret (one HKDF + key
 * generation), and by the KMS (policy check, app root secret, then the same), plus issuing and
 * verifying a signature chain. Run: {@code java -jar benchmarks/target/benchmarks.jar
 * KeyDerivationBenchmark -f 1 -wi 2 -i 3}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class KeyDerivationBenchmark {
  private static final AppId APP = AppId.fromHex("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");

  @Param({"secp256k1", "p256", "ed25519", "x25519", "raw-256"})
  public String algorithm;

  private KeyAlgorithm alg;
  private RootKeyring keyring;
  private KmsKeyDeriver kms;
  private AppRootSecret appRoot;
  private AppKeyDeriver agent;
  private KeyVersionPolicy policy;
  private SignatureChain chain;
  private SignatureChainVerifier verifier;
  private int counter;

  @Setup(Level.Trial)
  public void setUp() {
    alg = KeyAlgorithm.fromLabel(algorithm);
    byte[] root =
        HexFormat.of().parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    keyring = new RootKeyring(1, SecretBytes.copyOf(root, InsecureSecretAccess.get()));
    kms = new KmsKeyDeriver(keyring);
    policy = KeyVersionPolicy.initial();
    appRoot = kms.appRootSecret(new VersionRef(1, APP, 1), policy);
    agent = new AppKeyDeriver(appRoot);
    KeyAlgorithm certified = alg == KeyAlgorithm.RAW_256 ? KeyAlgorithm.SECP256K1 : alg;
    try (DerivedKey k = agent.userKey(certified, "bench/chain");
        DerivedKey kmsRoot = kms.kmsRootKey(1)) {
      chain =
          new SignatureChain(
              kms.certifyAppRoot(new VersionRef(1, APP, 1), policy), agent.certify(k));
      verifier = new SignatureChainVerifier(kmsRoot.ethereumAddress());
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    appRoot.destroy();
    keyring.close();
  }

  /**
   * Guest agent: derive a user path key of this type from the app root secret (distinct path each
   * call).
   */
  @Benchmark
  public byte[] guestAgentDerive() {
    try (DerivedKey k = agent.userKey(alg, "bench/" + (counter++))) {
      return alg.hasPublicKey() ? k.publicKey() : null;
    }
  }

  /** KMS: policy check + app root secret from the root + the same derivation. */
  @Benchmark
  public byte[] kmsDerive() {
    try (DerivedKey k =
        kms.derive(
            KeyRequest.user(new VersionRef(1, APP, 1), alg, "bench/" + (counter++)), policy)) {
      return alg.hasPublicKey() ? k.publicKey() : null;
    }
  }

  /** Verify a full chain (two ecrecovers) for a key of this type (raw-256 row: a secp256k1 key). */
  @Benchmark
  public boolean verifyChain() {
    return verifier.verify(chain).valid();
  }
}
