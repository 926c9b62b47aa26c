package org.teekms.attest.provider;

/**
 * Produces a TDX quote whose REPORTDATA is the given 64 bytes. Implementations: {@link
 * ConfigfsTsmQuoteProvider} (the Linux TSM report interface inside a TD) and {@code
 * org.teekms.attest.sim.SimulatedTdx.Cvm} (tests and development, explicitly enabled only).
 */
public interface QuoteProvider {
  byte[] quote(byte[] reportData) throws QuoteProviderException;
}
