package org.teekms.attest.ratls;

import org.bouncycastle.jce.provider.BouncyCastleProvider;

/** One BouncyCastle provider instance, passed explicitly (never installed globally, never relied on by order). */
final class Bc {
  static final BouncyCastleProvider PROVIDER = new BouncyCastleProvider();

  private Bc() {}
}
