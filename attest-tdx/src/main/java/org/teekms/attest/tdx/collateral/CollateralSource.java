package org.teekms.attest.tdx.collateral;

/**
 * Where collateral comes from: a file, a directory, Intel PCS / a PCCS over HTTP, or a cache in
 * front of these.
 */
@FunctionalInterface
public interface CollateralSource {
  Collateral fetch(CollateralRequest request) throws CollateralException;
}
