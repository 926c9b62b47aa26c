package org.teekms.agent.proxy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.security.SecureRandom;
import org.teekms.agent.HexField;
import org.teekms.agent.RunningAgent;
import org.teekms.agent.api.ApiException;
import org.teekms.agent.api.GuestApi;
import org.teekms.verifier.NvidiaPayload;
import org.teekms.attest.gpu.GpuEvidence;
import org.teekms.attest.provider.RuntimeEventLog;

/**
 * {@code /v1/attestation/report}: a fresh TDX quote whose REPORTDATA is the signing address right-padded with zeros
 * to 32 bytes, followed by the 32-byte nonce; GPU evidence made with the same nonce; the event log the quote replays
 * against; and the agent's Info.
 */
public final class AttestationReporter {
  private final RunningAgent agent;
  private final ResponseSigner signer;
  private final GuestApi api;
  private final SecureRandom random = new SecureRandom();

  public AttestationReporter(RunningAgent agent, ResponseSigner signer, GuestApi api) {
    this.agent = agent;
    this.signer = signer;
    this.api = api;
  }

  /** REPORTDATA = address ‖ 0x00·12 ‖ nonce. */
  public static byte[] reportData(byte[] address20, byte[] nonce32) {
    return org.teekms.verifier.SignedResponseVerifier.reportData(address20, nonce32);
  }

  /** @param nonceHex 64 hex characters, or null for a fresh random nonce */
  public ObjectNode report(String nonceHex) throws ApiException {
    byte[] nonce;
    if (nonceHex == null || nonceHex.isEmpty()) {
      nonce = new byte[32];
      random.nextBytes(nonce);
    } else {
      try {
        nonce = HexField.parse("nonce", nonceHex, 32);
      } catch (IllegalArgumentException e) {
        throw new ApiException(400, e.getMessage());
      }
    }
    RuntimeEventLog.QuoteWithLog q;
    try {
      q = agent.quote(reportData(signer.addressBytes(), nonce));
    } catch (Exception e) {
      throw new ApiException(500, "quote failed: " + e.getMessage());
    }
    ObjectNode out = GuestApi.JSON_MAPPER.createObjectNode();
    out.put("signing_address", signer.address());
    out.put("signing_algo", "ecdsa");
    out.put("request_nonce", HexField.hex(nonce));
    out.put("intel_quote", HexField.hex(q.quote()));
    if (agent.gpu().isPresent()) {
      GpuEvidence evidence;
      try {
        evidence = agent.gpu().get().collect(nonce);
      } catch (Exception e) {
        throw new ApiException(500, "GPU evidence failed: " + e.getMessage());
      }
      out.put("nvidia_payload", new NvidiaPayload(nonce, evidence).encode());
    } else {
      out.putNull("nvidia_payload");
    }
    out.put("event_log", q.eventLogJson());
    // public_sysinfo (app-compose, measured): whether anyone who can reach the proxy may read the app's Info (the
    // app-compose text, measurements, KMS facts). The quote and event log are always there: they are the proof.
    if (agent.identity().compose().publicSysinfo()) {
      out.set("info", api.info());
    } else {
      out.putNull("info");
    }
    return out;
  }
}
