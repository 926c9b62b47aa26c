package org.teekms.attest.provider;

/** Extends a runtime measurement register: RTMR[index] := SHA-384(RTMR[index] ‖ digest). */
public interface RtmrExtender {
  void extend(int index, byte[] sha384Digest) throws QuoteProviderException;
}
