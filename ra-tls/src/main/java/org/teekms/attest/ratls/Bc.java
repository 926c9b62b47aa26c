package org.teekms.attest.ratls;

import java.security.Provider;
import org.teekms.crypto.BouncyCastle;

/**
 * The process's one BouncyCastle provider, passed explicitly (never installed globally, never
 * relied on by order).
 */
final class Bc {
  static final Provider PROVIDER = BouncyCastle.PROVIDER;

  private Bc() {}
}
