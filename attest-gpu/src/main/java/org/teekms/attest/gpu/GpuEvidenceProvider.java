package org.teekms.attest.gpu;

import java.io.IOException;

/**
 * Obtains the GPU evidence of the machine it runs on, for a given 32-byte nonce (see {@link
 * GpuNonce}).
 */
public interface GpuEvidenceProvider {
  GpuEvidence collect(byte[] nonce) throws IOException, GpuAttestationException;
}
