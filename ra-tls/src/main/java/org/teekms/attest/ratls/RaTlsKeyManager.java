package org.teekms.attest.ratls;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Presents our RA-TLS certificate, as client and as server, whatever issuers the peer asks for (an
 * RA-TLS certificate is self-signed). {@link #rotate} swaps in new credentials for later
 * handshakes.
 */
public final class RaTlsKeyManager extends X509ExtendedKeyManager {
  public static final String ALIAS = "ratls";

  private final AtomicReference<RaTlsCredentials> credentials;

  public RaTlsKeyManager(RaTlsCredentials credentials) {
    this.credentials = new AtomicReference<>(credentials);
  }

  public void rotate(RaTlsCredentials next) {
    credentials.set(next);
  }

  public RaTlsCredentials credentials() {
    return credentials.get();
  }

  private String aliasFor(String keyType) {
    return keyType == null
            || keyType.equals(credentials.get().privateKey().getAlgorithm())
            || (keyType.startsWith("EC")
                && credentials.get().privateKey().getAlgorithm().equals("EC"))
        ? ALIAS
        : null;
  }

  private String aliasFor(String[] keyTypes) {
    if (keyTypes == null) {
      return ALIAS;
    }
    for (String t : keyTypes) {
      if (aliasFor(t) != null) {
        return ALIAS;
      }
    }
    return null;
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return aliasFor(keyType) == null ? null : new String[] {ALIAS};
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return aliasFor(keyType);
  }

  @Override
  public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
    return aliasFor(keyType);
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return aliasFor(keyType) == null ? null : new String[] {ALIAS};
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return aliasFor(keyType);
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return aliasFor(keyType);
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    return ALIAS.equals(alias) ? new X509Certificate[] {credentials.get().certificate()} : null;
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    return ALIAS.equals(alias) ? credentials.get().privateKey() : null;
  }
}
