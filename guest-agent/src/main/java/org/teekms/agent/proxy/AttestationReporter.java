package org.teekms.agent.proxy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.security.SecureRandom;
import org.teekms.agent.HexField;
import org.teekms.agent.RunningAgent;
import org.teekms.agent.api.ApiException;
import org.teekms.agent.api.GuestApi;
import org.teekms.attest.gpu.GpuAttestationException;
import org.teekms.attest.gpu.GpuDevices;
import org.teekms.attest.gpu.GpuEvidence;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.crypto.Bytes;
import org.teekms.verifier.NvidiaPayload;
import org.teekms.verifier.ReportAttestations;
import org.teekms.verifier.SignedText;

/**
 * {@code /v1/attestation/report}: a fresh TDX quote whose REPORTDATA is the signing address
 * right-padded with zeros to 32 bytes, followed by the 32-byte nonce; GPU evidence made with the
 * same nonce; the event log the quote replays against; and the agent's Info. In the layout of NEAR
 * AI's and Redpill's vLLM proxy (docs/verifiable-inference.md §3): the report also carries {@code
 * all_attestations} and {@code model_attestations}, each a one-entry array equal to the report
 * itself, so verifiers that pick "the entry naming my signer" find ours.
 *
 * <p>The signer attested is chosen by {@code signing_algo} ({@code ecdsa} by default, or {@code
 * ed25519}; anything else is 400) and {@code signing_address} (the current key version's by
 * default; the address of an older key version still released to this CVM is attested too; an
 * address this proxy does not hold is 404).
 *
 * <p>Bounded ({@link ReportLimits}): at most {@code concurrent} reports are made at once (one more
 * is 503, "retry shortly"); a report asked for without a nonce promises no freshness, so it is
 * served again, with the nonce it was made with, to the same signer and algorithm for {@code
 * cacheTtl} (concurrent such requests share one quote). The per-source rate limit is applied by
 * {@link SigningProxy} before this is called.
 */
public final class AttestationReporter {
  private final RunningAgent agent;
  private final ResponseSigner signer;
  private final GuestApi api;
  private final SecureRandom random = new SecureRandom();
  private final ReportLimits limits;
  private final java.util.concurrent.Semaphore making;
  private final com.github.benmanes.caffeine.cache.Cache<ResponseSigner.Attestable, ObjectNode>
      nonceless;

  /** With the default limits ({@link ReportLimits#DEFAULT}). */
  public AttestationReporter(RunningAgent agent, ResponseSigner signer, GuestApi api) {
    this(agent, signer, api, ReportLimits.DEFAULT);
  }

  public AttestationReporter(
      RunningAgent agent, ResponseSigner signer, GuestApi api, ReportLimits limits) {
    this.agent = agent;
    this.signer = signer;
    this.api = api;
    this.limits = limits;
    this.making = new java.util.concurrent.Semaphore(limits.concurrent());
    this.nonceless =
        com.github.benmanes.caffeine.cache.Caffeine.newBuilder()
            .maximumSize(64)
            .expireAfterWrite(limits.cacheTtl())
            .build();
  }

  /** The bounds this reporter and its proxy apply. */
  public ReportLimits limits() {
    return limits;
  }

  /** A checked refusal carried through the cache's loader. */
  private static final class Refusal extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Refusal(ApiException cause) {
      super(cause.getMessage(), cause, false, false);
    }
  }

  /** REPORTDATA = address ‖ 0x00·12 ‖ nonce. */
  public static byte[] reportData(byte[] address20, byte[] nonce32) {
    return org.teekms.verifier.SignerIdentity.reportData(address20, nonce32);
  }

  /**
   * @param nonceHex 64 hex characters, or null for a fresh random nonce
   */
  /**
   * The evidence must come from the GPUs this CVM measured at boot (RTMR3 {@code gpu-devices}): a
   * swapped or hot-plugged GPU's report would otherwise be signed off under this CVM's quote.
   * Verifiers check the same (ResponseVerification, GPUs row), this refuses early with the reason.
   */
  private void requireBootDevices(GpuEvidence evidence) throws ApiException {
    byte[] atBoot = null;
    for (org.teekms.attest.eventlog.EventLogEntry e : agent.eventLog().runtimeEvents()) {
      if (e.imr() == 3 && e.name().equals(GpuDevices.RTMR3_EVENT_NAME)) {
        atBoot = e.payload();
      }
    }
    if (atBoot == null) {
      throw new ApiException(
          500, "GPU evidence refused: this CVM measured no gpu-devices event at boot");
    }
    byte[] now;
    try {
      now = GpuDevices.digest(evidence);
    } catch (GpuAttestationException e) {
      throw new ApiException(500, "GPU evidence refused: " + e.getMessage());
    }
    if (!java.security.MessageDigest.isEqual(atBoot, now)) {
      throw new ApiException(
          500,
          "GPU evidence refused: the GPUs present now are not the devices measured at boot "
              + "(gpu-devices "
              + java.util.HexFormat.of().formatHex(atBoot).substring(0, 16)
              + "…, now "
              + java.util.HexFormat.of().formatHex(now).substring(0, 16)
              + "…)");
    }
  }

  public ObjectNode report(String nonceHex) throws ApiException {
    return report(nonceHex, null, null);
  }

  /**
   * @param signingAddress the signer to attest (null: the current version's)
   * @param signingAlgo {@code ecdsa} or {@code ed25519} (null: ecdsa)
   */
  public ObjectNode report(String nonceHex, String signingAddress, String signingAlgo)
      throws ApiException {
    if (signingAlgo != null && !signer.signsWith(signingAlgo)) {
      throw new ApiException(
          400,
          "unsupported signing_algo; this proxy signs with "
              + (signer.signsWith(SignedText.ED25519) ? "ecdsa or ed25519" : "ecdsa"));
    }
    if (signingAddress != null && (signingAddress.isEmpty() || signingAddress.length() > 130)) {
      throw new ApiException(404, "not a signing address of this proxy");
    }
    ResponseSigner.Attestable who =
        signer
            .find(signingAlgo, signingAddress)
            .orElseThrow(
                () ->
                    new ApiException(
                        404,
                        "signing_address is not a "
                            + (signingAlgo == null ? SignedText.SIGNING_ALGO : signingAlgo)
                            + " signer of this proxy (current or older key version in service)"));
    if (nonceHex == null || nonceHex.isEmpty()) {
      if (limits.cacheTtl().isZero()) {
        return make(who, randomNonce());
      }
      try {
        return nonceless
            .get(
                who,
                w -> {
                  try {
                    return make(w, randomNonce());
                  } catch (ApiException e) {
                    throw new Refusal(e);
                  }
                })
            .deepCopy();
      } catch (Refusal r) {
        throw (ApiException) r.getCause();
      }
    }
    byte[] nonce;
    try {
      nonce = HexField.parse("nonce", nonceHex, 32);
    } catch (IllegalArgumentException e) {
      throw new ApiException(400, e.getMessage());
    }
    return make(who, nonce);
  }

  private byte[] randomNonce() {
    byte[] nonce = new byte[32];
    random.nextBytes(nonce);
    return nonce;
  }

  /** A fresh report (quote, GPU evidence) for {@code who} over {@code nonce}, if a slot is free. */
  private ObjectNode make(ResponseSigner.Attestable who, byte[] nonce) throws ApiException {
    if (!making.tryAcquire()) {
      throw new ApiException(
          503,
          "all "
              + limits.concurrent()
              + " attestation reports are being made (proxy.report-concurrent); retry shortly");
    }
    try {
      return quoteAndEvidence(who, nonce);
    } finally {
      making.release();
    }
  }

  private ObjectNode quoteAndEvidence(ResponseSigner.Attestable who, byte[] nonce)
      throws ApiException {
    RuntimeEventLog.QuoteWithLog q;
    try {
      q = agent.quote(who.identity().reportData(nonce));
    } catch (Exception e) {
      throw new ApiException(500, "quote failed: " + e.getMessage());
    }
    ObjectNode out = GuestApi.JSON_MAPPER.createObjectNode();
    out.put("signing_address", who.address());
    out.put("signing_algo", who.algo());
    out.put("key_version", who.version());
    out.put("request_nonce", HexField.hex(nonce));
    out.put("intel_quote", HexField.hex(q.quote().toByteArray()));
    if (agent.gpu().isPresent()) {
      GpuEvidence evidence;
      try {
        evidence = agent.gpu().get().collect(nonce);
      } catch (Exception e) {
        throw new ApiException(500, "GPU evidence failed: " + e.getMessage());
      }
      requireBootDevices(evidence);
      out.put("nvidia_payload", new NvidiaPayload(Bytes.copyOf(nonce), evidence).encode());
    } else {
      out.putNull("nvidia_payload");
    }
    out.put("event_log", q.eventLogJson());
    // public_sysinfo (app-compose, measured): whether anyone who can reach the proxy may read the
    // app's Info (the
    // app-compose text, measurements, KMS facts). The quote and event log are always there: they
    // are the proof.
    if (agent.identity().compose().publicSysinfo()) {
      out.set("info", api.info());
    } else {
      out.putNull("info");
    }
    ObjectNode attestation = out.deepCopy();
    out.putArray(ReportAttestations.ALL).add(attestation);
    out.putArray(ReportAttestations.MODEL).add(attestation.deepCopy());
    return out;
  }
}
