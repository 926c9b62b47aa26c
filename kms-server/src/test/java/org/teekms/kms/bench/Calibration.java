package org.teekms.kms.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.util.function.BooleanSupplier;
import javax.crypto.KeyAgreement;
import org.teekms.crypto.BouncyCastle;

/**
 * The machine's speed at the operations an admission is made of, measured on one thread in the load
 * generator's own run, per CPU second of that thread (so a loaded machine distorts them less than
 * wall-clock rates): ECDSA P-256 sign and verify (BouncyCastle, as the KMS's RA-TLS signs and
 * verifies), X25519 (the JDK's XDH, as JSSE's key exchange) and SHA-256 of 1 KiB. Server CPU per
 * admission divided by {@link #verifyMicros} says how many P-256 verifies an admission costs: a
 * figure that can be compared between machines.
 */
record Calibration(
    double signPerSecond,
    double verifyPerSecond,
    double x25519PerSecond,
    double sha256KiBPerSecond) {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  /** Microseconds of CPU per P-256 verify. */
  double verifyMicros() {
    return 1e6 / verifyPerSecond;
  }

  static Calibration measure(double secondsEach) throws Exception {
    KeyPairGenerator ecGen = KeyPairGenerator.getInstance("EC", BouncyCastle.PROVIDER);
    ecGen.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair ec = ecGen.generateKeyPair();
    byte[] message =
        "tee-kms calibration: a TLS 1.3 CertificateVerify is signed over about 130 bytes"
            .getBytes(StandardCharsets.US_ASCII);
    Signature signer = Signature.getInstance("SHA256withECDSA", BouncyCastle.PROVIDER);
    signer.initSign(ec.getPrivate());
    signer.update(message);
    byte[] signature = signer.sign();
    Signature verifier = Signature.getInstance("SHA256withECDSA", BouncyCastle.PROVIDER);
    KeyPairGenerator xGen = KeyPairGenerator.getInstance("X25519");
    KeyPair peer = xGen.generateKeyPair();
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    byte[] kib = new byte[1024];

    BooleanSupplier sign =
        () -> {
          try {
            signer.initSign(ec.getPrivate());
            signer.update(message);
            return signer.sign().length > 0;
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        };
    BooleanSupplier verify =
        () -> {
          try {
            verifier.initVerify(ec.getPublic());
            verifier.update(message);
            return verifier.verify(signature);
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        };
    BooleanSupplier x25519 =
        () -> { // a handshake's key exchange: one key pair and one agreement
          try {
            KeyPair mine = xGen.generateKeyPair();
            KeyAgreement ka = KeyAgreement.getInstance("X25519");
            ka.init(mine.getPrivate());
            ka.doPhase(peer.getPublic(), true);
            return ka.generateSecret().length == 32;
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        };
    BooleanSupplier sha256 = () -> sha.digest(kib).length == 32;
    // JIT warm-up: at least 5 s, then until the JIT has been quiet for 2 s (at most 90 s): on a
    // loaded machine the
    // compiler threads get little CPU, and a rate measured while they work is the interpreter's.
    java.lang.management.CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    long start = System.nanoTime();
    long last = jit.getTotalCompilationTime();
    long quietSince = start;
    while (true) {
      for (BooleanSupplier op : new BooleanSupplier[] {sign, verify, x25519, sha256}) {
        rate(op, 0.1);
      }
      long now = System.nanoTime();
      if (jit.getTotalCompilationTime() != last) {
        last = jit.getTotalCompilationTime();
        quietSince = now;
      }
      if (now - start > 90_000_000_000L
          || (now - start > 5_000_000_000L && now - quietSince > 2_000_000_000L)) {
        break;
      }
    }
    return new Calibration(
        rate(sign, secondsEach),
        rate(verify, secondsEach),
        rate(x25519, secondsEach),
        rate(sha256, secondsEach));
  }

  private static double rate(BooleanSupplier op, double seconds) {
    long n = 0;
    long cpu0 = THREADS.getCurrentThreadCpuTime();
    long end = System.nanoTime() + (long) (seconds * 1e9);
    while (System.nanoTime() < end) {
      if (!op.getAsBoolean()) {
        throw new IllegalStateException("calibration operation failed");
      }
      n++;
    }
    return n / ((THREADS.getCurrentThreadCpuTime() - cpu0) / 1e9);
  }

  String describe() {
    return String.format(
        "calibration (one thread, per CPU second): P-256 sign %,.0f/s, P-256 verify %,.0f/s "
            + "(%.0f µs), X25519 key pair + agreement %,.0f/s, SHA-256 %,.0f KiB/s",
        signPerSecond, verifyPerSecond, verifyMicros(), x25519PerSecond, sha256KiBPerSecond);
  }
}
