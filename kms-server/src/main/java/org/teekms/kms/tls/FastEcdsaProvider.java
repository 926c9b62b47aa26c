package org.teekms.kms.tls;

import java.security.NoSuchAlgorithmException;
import java.security.Provider;
import java.security.Security;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.bouncycastle.jcajce.provider.asymmetric.ec.SignatureSpi;

/**
 * A JCA provider with only ECDSA signatures (P-256/P-384 over SHA-256/SHA-384), backed by
 * BouncyCastle, installed ahead of SunEC. JSSE signs its CertificateVerify and checks the peer's
 * with {@code Signature.getInstance}, so every RA-TLS handshake used SunEC's ECDSA, the largest
 * crypto cost per admission in a profile (BouncyCastle's fixed-curve arithmetic is several times
 * faster here). Nothing else changes providers: digests, ciphers, key agreement, key stores and
 * random numbers stay with the JDK. Same algorithm, same encodings (DER signatures), interoperable
 * both ways (tested).
 */
public final class FastEcdsaProvider extends Provider {

  public static final String NAME = "TeeKmsEcdsa";
  private static final long serialVersionUID = 1L;

  private FastEcdsaProvider() {
    super(NAME, "1.0", "ECDSA signatures (BouncyCastle) for JSSE handshakes");
    add(
        "SHA256withECDSA",
        List.of("1.2.840.10045.4.3.2", "OID.1.2.840.10045.4.3.2"),
        SignatureSpi.ecDSA256::new);
    add(
        "SHA384withECDSA",
        List.of("1.2.840.10045.4.3.3", "OID.1.2.840.10045.4.3.3"),
        SignatureSpi.ecDSA384::new);
  }

  private void add(String algorithm, List<String> aliases, Supplier<Object> factory) {
    putService(
        new Service(
            this,
            "Signature",
            algorithm,
            factory.get().getClass().getName(),
            aliases,
            Map.of(
                "SupportedKeyClasses",
                "java.security.interfaces.ECPublicKey|java.security.interfaces.ECPrivateKey")) {
          @Override
          public Object newInstance(Object parameter) throws NoSuchAlgorithmException {
            return factory.get();
          }
        });
  }

  /** Installs the provider first in the JVM's list (idempotent). */
  public static synchronized void install() {
    if (Security.getProvider(NAME) == null) {
      Security.insertProviderAt(new FastEcdsaProvider(), 1);
    }
  }
}
