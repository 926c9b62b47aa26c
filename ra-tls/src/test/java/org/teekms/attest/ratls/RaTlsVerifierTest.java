package org.teekms.attest.ratls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.teekms.attest.eventlog.DstackBootSequence;
import org.teekms.attest.gpu.GpuEvidencePolicy;
import org.teekms.attest.gpu.GpuEvidenceVerifier;
import org.teekms.attest.gpu.RevocationChecker;
import org.teekms.attest.gpu.SimulatedGpuEvidenceProvider;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.ratls.RaTlsException.Reason;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.collateral.Collateral;

/** Each way an RA-TLS certificate can be wrong is refused with its precise reason. */
class RaTlsVerifierTest {
  static final String APP = "services:\n  web: {image: nginx}\n";

  static RaTlsException reject(RaTlsVerifier verifier, X509Certificate cert) {
    return assertThrows(RaTlsException.class, () -> verifier.verify(cert));
  }

  static RaTlsException reject(X509Certificate cert) {
    return reject(SimulatedRaTls.verifier().build(), cert);
  }

  /** A certificate for {@code keys} carrying exactly the given evidence. */
  static X509Certificate certificate(KeyPair keys, byte[] quote, String eventLog, byte[] gpu) {
    return new RaTlsCertificateFactory(
            rd -> new byte[0],
            RaTlsHandshakeTest.emptyLog(),
            null,
            SimulatedRaTls.CLOCK,
            Duration.ofHours(1))
        .build(keys, "test", quote, eventLog.getBytes(StandardCharsets.UTF_8), gpu);
  }

  static byte[] spki(KeyPair keys) {
    return keys.getPublic().getEncoded();
  }

  @Test
  void aGenuineCertificateVerifies() throws Exception {
    RaTlsIdentity id =
        SimulatedRaTls.verifier().build().verify(SimulatedRaTls.credentials(APP).certificate());
    assertEquals(40, id.appId().hex().length());
    assertFalse(id.debug());
    assertTrue(id.boot().systemReady());
    assertTrue(id.gpus().isEmpty());
  }

  @Test
  void reportDataBoundToAnotherKey() throws Exception {
    SimulatedCvm cvm = SimulatedRaTls.cvm(APP, false);
    KeyPair mine = RaTlsCertificateFactory.newKeyPair();
    KeyPair other = RaTlsCertificateFactory.newKeyPair();
    RuntimeEventLog.QuoteWithLog q =
        cvm.eventLog().quote(cvm, ReportDataBinding.forSpki(spki(other)));
    RaTlsException e = reject(certificate(mine, q.quote().toByteArray(), q.eventLogJson(), null));
    assertEquals(Reason.KEY_NOT_BOUND, e.reason(), e.getMessage());
  }

  @Test
  void eventLogEditedByOneByte() throws Exception {
    SimulatedCvm cvm = SimulatedRaTls.cvm(APP, false);
    KeyPair keys = RaTlsCertificateFactory.newKeyPair();
    RuntimeEventLog.QuoteWithLog q =
        cvm.eventLog().quote(cvm, ReportDataBinding.forSpki(spki(keys)));
    String log = q.eventLogJson();
    // change one hex digit of the compose-hash payload: its logged digest no longer matches it
    int at = log.indexOf("\"event\":\"compose-hash\",\"event_payload\":\"") + 41;
    char c = log.charAt(at);
    String edited = log.substring(0, at) + (c == '0' ? '1' : '0') + log.substring(at + 1);
    RaTlsException e = reject(certificate(keys, q.quote().toByteArray(), edited, null));
    assertEquals(Reason.EVENT_LOG_INVALID, e.reason(), e.getMessage());
    assertTrue(e.getMessage().contains("logged digest does not match"), e.getMessage());

    // the same edit with the digest recomputed by the forger: now the replay no longer reaches the
    // quoted RTMR3
    String forged =
        org.teekms.attest.eventlog.DstackEventLogCodec.toJson(
            org.teekms.attest.eventlog.DstackEventLogCodec.parse(
                edited.replaceAll(
                    "\"digest\":\"[0-9a-f]{96}\",(\"event\":\"compose-hash\")", "$1")));
    RaTlsException replay = reject(certificate(keys, q.quote().toByteArray(), forged, null));
    assertEquals(Reason.EVENT_LOG_INVALID, replay.reason());
    assertTrue(replay.getMessage().contains("RTMR3 mismatch"), replay.getMessage());
  }

  @Test
  void eventAppendedAfterBootDone() throws Exception {
    // (a) appended to the log only: it was never measured, so the log no longer replays to the
    // quote
    SimulatedCvm cvm = SimulatedRaTls.cvm(APP, false);
    KeyPair keys = RaTlsCertificateFactory.newKeyPair();
    RuntimeEventLog.QuoteWithLog q =
        cvm.eventLog().quote(cvm, ReportDataBinding.forSpki(spki(keys)));
    var entries =
        new java.util.ArrayList<>(
            org.teekms.attest.eventlog.DstackEventLogCodec.parse(q.eventLogJson()));
    entries.add(
        org.teekms.attest.eventlog.EventLogEntry.runtime(
            DstackBootSequence.COMPOSE_HASH, new byte[32]));
    RaTlsException unmeasured =
        reject(
            certificate(
                keys,
                q.quote().toByteArray(),
                org.teekms.attest.eventlog.DstackEventLogCodec.toJson(entries),
                null));
    assertEquals(Reason.EVENT_LOG_INVALID, unmeasured.reason());
    assertTrue(unmeasured.getMessage().contains("RTMR3 mismatch"), unmeasured.getMessage());

    // (b) really measured after boot-done: replays, but an identity event after the marker is
    // refused
    cvm.eventLog().emit(DstackBootSequence.COMPOSE_HASH, new byte[32]);
    KeyPair keys2 = RaTlsCertificateFactory.newKeyPair();
    RuntimeEventLog.QuoteWithLog q2 =
        cvm.eventLog().quote(cvm, ReportDataBinding.forSpki(spki(keys2)));
    RaTlsException measured =
        reject(certificate(keys2, q2.quote().toByteArray(), q2.eventLogJson(), null));
    assertEquals(Reason.EVENT_LOG_INVALID, measured.reason());
    assertTrue(
        measured.getMessage().contains("'compose-hash'): reserved event after system-ready"),
        measured.getMessage());
  }

  @Test
  void quoteFromAnotherCvm() throws Exception {
    // The attacker's CVM B quotes over the attacker's key, and the certificate claims CVM A's event
    // log.
    SimulatedCvm a = SimulatedRaTls.cvm(APP, false);
    SimulatedCvm b = SimulatedRaTls.cvm("services:\n  evil: {image: attacker}\n", false);
    KeyPair keys = RaTlsCertificateFactory.newKeyPair();
    byte[] quoteB = b.quote(ReportDataBinding.forSpki(spki(keys)));
    String logA = a.eventLog().quote(a, new byte[64]).eventLogJson();
    RaTlsException e = reject(certificate(keys, quoteB, logA, null));
    assertEquals(Reason.EVENT_LOG_INVALID, e.reason());
    assertTrue(e.getMessage().contains("RTMR3 mismatch"), e.getMessage());
  }

  @Test
  void expiredCollateral() throws Exception {
    Instant now = SimulatedRaTls.CLOCK.instant();
    var stale =
        SimulatedRaTls.TDX
            .collateral(
                now.minus(Duration.ofDays(40)),
                now.minus(Duration.ofDays(10)),
                "UpToDate",
                List.of())
            .toCollateral();
    RaTlsVerifier verifier =
        RaTlsVerifier.builder(
                new DcapQuoteVerifier(SimulatedRaTls.TDX.rootCertificate()), request -> stale)
            .clock(SimulatedRaTls.CLOCK)
            .build();
    RaTlsException e = reject(verifier, SimulatedRaTls.credentials(APP).certificate());
    assertEquals(Reason.QUOTE_INVALID, e.reason());
    assertTrue(e.getMessage().contains("COLLATERAL_EXPIRED"), e.getMessage());
  }

  @Test
  void unreachableCollateralIsUnavailableNotInvalid() throws Exception {
    RaTlsVerifier verifier =
        RaTlsVerifier.builder(
                new DcapQuoteVerifier(SimulatedRaTls.TDX.rootCertificate()),
                request -> {
                  throw new org.teekms.attest.tdx.collateral.CollateralException(
                      "GET https://pccs.invalid/tdx/certification/v4/tcb: connection refused");
                })
            .clock(SimulatedRaTls.CLOCK)
            .build();
    RaTlsException e = reject(verifier, SimulatedRaTls.credentials(APP).certificate());
    assertEquals(Reason.COLLATERAL_UNAVAILABLE, e.reason());
    assertTrue(e.getMessage().contains("connection refused"), e.getMessage());
  }

  @Test
  void debugTdUnderProductionPolicy() throws Exception {
    X509Certificate debugCert =
        SimulatedRaTls.factory(SimulatedRaTls.cvm(APP, true), null).create("dbg").certificate();
    RaTlsException e = reject(debugCert);
    assertEquals(Reason.POLICY_REJECTED, e.reason());
    assertTrue(e.getMessage().contains("debug TD is not allowed"), e.getMessage());
    // a test policy may allow it, and the identity then says so
    RaTlsIdentity id =
        SimulatedRaTls.verifier()
            .quotePolicy(QuotePolicy.builder().allowDebugForTesting().build())
            .build()
            .verify(debugCert);
    assertTrue(id.debug());
  }

  @Test
  void deferredQuotePolicyProvesTheEvidenceAndLeavesThePolicyToTheCaller() throws Exception {
    // What the KMS's handshake does: a genuine quote of a debug TD on an OutOfDate platform with an
    // advisory verifies,
    // and the identity carries the facts the caller's policy refuses (with its own precise reason,
    // audited).
    java.time.Instant now = SimulatedRaTls.CLOCK.instant();
    Collateral outOfDate =
        SimulatedRaTls.TDX
            .collateral(
                now.minus(java.time.Duration.ofDays(1)),
                now.plus(java.time.Duration.ofDays(30)),
                "OutOfDate",
                java.util.List.of("INTEL-SA-00837"))
            .toCollateral();
    RaTlsVerifier evidenceOnly =
        RaTlsVerifier.builder(
                new DcapQuoteVerifier(SimulatedRaTls.TDX.rootCertificate()), request -> outOfDate)
            .deferQuotePolicy()
            .clock(SimulatedRaTls.CLOCK)
            .build();
    X509Certificate debugCert =
        SimulatedRaTls.factory(SimulatedRaTls.cvm(APP, true), null).create("dbg").certificate();
    RaTlsIdentity id = evidenceOnly.verify(debugCert);
    assertTrue(id.debug());
    assertEquals(org.teekms.attest.tdx.TcbStatus.OutOfDate, id.tcbStatus());
    assertEquals(java.util.List.of("INTEL-SA-00837"), id.advisoryIds());
    QuotePolicy.Decision d =
        QuotePolicy.builder().build().evaluate(id.tcbStatus(), id.advisoryIds(), id.td());
    assertEquals(
        java.util.List.of(
            QuotePolicy.Rule.TCB_STATUS, QuotePolicy.Rule.ADVISORY, QuotePolicy.Rule.DEBUG),
        d.broken().stream().map(QuotePolicy.Violation::rule).toList());
    // With the policy in the verifier (the default), the same certificate fails the handshake.
    RaTlsException strict =
        reject(
            RaTlsVerifier.builder(
                    new DcapQuoteVerifier(SimulatedRaTls.TDX.rootCertificate()),
                    request -> outOfDate)
                .clock(SimulatedRaTls.CLOCK)
                .build(),
            debugCert);
    assertEquals(Reason.POLICY_REJECTED, strict.reason());
    // Deferring the policy proves no less: a quote under another root is still refused.
    RaTlsVerifier foreign =
        RaTlsVerifier.builder(DcapQuoteVerifier.withIntelRoot(), request -> outOfDate)
            .deferQuotePolicy()
            .clock(SimulatedRaTls.CLOCK)
            .build();
    assertEquals(Reason.QUOTE_INVALID, reject(foreign, debugCert).reason());
  }

  @Test
  void simulatedRootUnderProductionTrustAnchor() throws Exception {
    RaTlsVerifier production =
        RaTlsVerifier.builder(
                DcapQuoteVerifier.withIntelRoot(), request -> SimulatedRaTls.COLLATERAL)
            .clock(SimulatedRaTls.CLOCK)
            .build();
    RaTlsException e = reject(production, SimulatedRaTls.credentials(APP).certificate());
    assertEquals(Reason.QUOTE_INVALID, e.reason());
    assertTrue(
        e.getMessage().contains("COLLATERAL_INVALID")
            || e.getMessage().contains("PCK_CHAIN_INVALID"),
        e.getMessage());
  }

  @Test
  void oversizedExtensions() throws Exception {
    KeyPair keys = RaTlsCertificateFactory.newKeyPair();
    RaTlsException quote =
        reject(certificate(keys, new byte[RaTlsCertificateParser.MAX_QUOTE_BYTES + 1], "[]", null));
    assertEquals(Reason.OVERSIZED_EXTENSION, quote.reason());
    assertTrue(quote.getMessage().contains("TDX quote"), quote.getMessage());
    String hugeLog = "[" + " ".repeat(RaTlsCertificateParser.MAX_EVENT_LOG_BYTES) + "]";
    RaTlsException log = reject(certificate(keys, new byte[100], hugeLog, null));
    assertEquals(Reason.OVERSIZED_EXTENSION, log.reason());
    assertTrue(log.getMessage().contains("event log"), log.getMessage());
    RaTlsException gpu =
        reject(
            certificate(
                keys,
                new byte[100],
                "[]",
                new byte[RaTlsCertificateParser.MAX_GPU_EVIDENCE_BYTES + 1]));
    assertEquals(Reason.OVERSIZED_EXTENSION, gpu.reason());
  }

  @Test
  void expiredCertificateAndBrokenSelfSignature() throws Exception {
    SimulatedCvm cvm = SimulatedRaTls.cvm(APP, false);
    RaTlsCredentials shortLived =
        new RaTlsCertificateFactory(
                cvm,
                cvm.eventLog(),
                null,
                java.time.Clock.offset(SimulatedRaTls.CLOCK, Duration.ofDays(-3)),
                Duration.ofDays(1))
            .create("old");
    assertEquals(Reason.CERTIFICATE_EXPIRED, reject(shortLived.certificate()).reason());

    byte[] der = SimulatedRaTls.credentials(APP).certificate().getEncoded();
    der[der.length - 5] ^= 0x01; // inside the signature value
    X509Certificate tampered = org.teekms.attest.tdx.Pem.certificate(der);
    assertEquals(Reason.CERTIFICATE_SIGNATURE, reject(tampered).reason());
  }

  @Test
  void certificateLifetimesAreCappedAtADayByDefault() throws Exception {
    SimulatedCvm cvm = SimulatedRaTls.cvm(APP, false);
    RaTlsCredentials day =
        new RaTlsCertificateFactory(
                cvm, cvm.eventLog(), null, SimulatedRaTls.CLOCK, Duration.ofHours(24))
            .create("day");
    X509Certificate c = day.certificate();
    assertEquals(
        Duration.ofHours(24),
        Duration.between(c.getNotBefore().toInstant(), c.getNotAfter().toInstant()));
    SimulatedRaTls.verifier().build().verify(c); // exactly the cap is accepted

    RaTlsCredentials longer =
        new RaTlsCertificateFactory(
                cvm,
                cvm.eventLog(),
                null,
                SimulatedRaTls.CLOCK,
                Duration.ofHours(24).plusSeconds(1))
            .create("longer");
    RaTlsException e = reject(longer.certificate());
    assertEquals(Reason.CERTIFICATE_LIFETIME_EXCEEDED, e.reason());
    assertTrue(
        e.detail().contains("(PT24H1S), longer than the PT24H cap on RA-TLS certificate lifetimes"),
        e.detail());
    // a verifier configured for longer lifetimes accepts it
    SimulatedRaTls.verifier()
        .maxCertificateLifetime(Duration.ofDays(7))
        .build()
        .verify(longer.certificate());
    assertThrows(
        IllegalArgumentException.class,
        () -> SimulatedRaTls.verifier().maxCertificateLifetime(Duration.ZERO));
  }

  @Test
  void gpuEvidenceBoundToTheKeyAndMeasuredIsVerified() throws Exception {
    SimulatedGpuEvidenceProvider gpus = SimulatedGpuEvidenceProvider.enable(2);
    GpuEvidenceVerifier gpuVerifier =
        GpuEvidenceVerifier.builder(gpus.simulator().deviceRoot())
            .revocation(RevocationChecker.disabled())
            .build();
    GpuEvidencePolicy twoGpus = new GpuEvidencePolicy(2, Set.of(), null, null, false, false);
    RaTlsVerifier verifier = SimulatedRaTls.verifier().gpu(gpuVerifier, twoGpus).build();

    SimulatedCvm cvm = SimulatedRaTls.cvm(APP, false);
    RaTlsCredentials creds = SimulatedRaTls.factory(cvm, gpus).create("gpu");
    RaTlsIdentity id = verifier.verify(creds.certificate());
    assertEquals(2, id.gpus().size());
    assertTrue(id.gpus().get(0).valid());
    assertTrue(id.boot().gpuEvidenceHash().isPresent());

    // GPU evidence made for another key (nonce of another SPKI), measured and quoted honestly:
    // nonce mismatch.
    KeyPair keys = RaTlsCertificateFactory.newKeyPair();
    var foreign =
        gpus.collect(
            org.teekms.attest.gpu.GpuNonce.forSpki(spki(RaTlsCertificateFactory.newKeyPair())));
    cvm.eventLog().emit(DstackBootSequence.GPU_EVIDENCE, foreign.sha384());
    var q = cvm.eventLog().quote(cvm, ReportDataBinding.forSpki(spki(keys)));
    RaTlsException nonce =
        reject(
            verifier,
            certificate(keys, q.quote().toByteArray(), q.eventLogJson(), foreign.encode()));
    assertEquals(Reason.GPU_EVIDENCE_INVALID, nonce.reason());
    assertTrue(nonce.getMessage().contains("NONCE_MISMATCH"), nonce.getMessage());

    // GPU evidence for this key but never measured into RTMR3.
    KeyPair keys2 = RaTlsCertificateFactory.newKeyPair();
    var unmeasured = gpus.collect(org.teekms.attest.gpu.GpuNonce.forSpki(spki(keys2)));
    var q2 = cvm.eventLog().quote(cvm, ReportDataBinding.forSpki(spki(keys2)));
    RaTlsException notMeasured =
        reject(
            verifier,
            certificate(keys2, q2.quote().toByteArray(), q2.eventLogJson(), unmeasured.encode()));
    assertEquals(Reason.GPU_EVIDENCE_INVALID, notMeasured.reason());
    assertTrue(
        notMeasured.getMessage().contains("not the one last measured"), notMeasured.getMessage());

    // The GPU policy requires GPUs: a certificate without GPU evidence is refused.
    RaTlsException none = reject(verifier, SimulatedRaTls.credentials(APP).certificate());
    assertEquals(Reason.POLICY_REJECTED, none.reason());
    assertTrue(none.getMessage().contains("requires 2 GPUs"), none.getMessage());
  }

  @Test
  void gpuFactsModeReportsEveryFailureWithoutRefusingTheCertificate() throws Exception {
    SimulatedGpuEvidenceProvider gpus = SimulatedGpuEvidenceProvider.enable(2);
    GpuEvidenceVerifier gpuVerifier =
        GpuEvidenceVerifier.builder(gpus.simulator().deviceRoot())
            .revocation(RevocationChecker.disabled())
            .build();
    RaTlsVerifier verifier = SimulatedRaTls.verifier().gpuFacts(gpuVerifier).build();

    SimulatedCvm cvm = SimulatedRaTls.cvm(APP, false);
    RaTlsIdentity ok =
        verifier.verify(SimulatedRaTls.factory(cvm, gpus).create("gpu").certificate());
    assertEquals(2, ok.gpus().size());
    assertTrue(ok.gpus().stream().allMatch(org.teekms.attest.gpu.GpuResult::valid));

    // Evidence for another key: accepted as a certificate, each GPU reported as NONCE_MISMATCH for
    // the policy.
    KeyPair keys = RaTlsCertificateFactory.newKeyPair();
    var foreign =
        gpus.collect(
            org.teekms.attest.gpu.GpuNonce.forSpki(spki(RaTlsCertificateFactory.newKeyPair())));
    cvm.eventLog().emit(DstackBootSequence.GPU_EVIDENCE, foreign.sha384());
    var q = cvm.eventLog().quote(cvm, ReportDataBinding.forSpki(spki(keys)));
    RaTlsIdentity nonce =
        verifier.verify(
            certificate(keys, q.quote().toByteArray(), q.eventLogJson(), foreign.encode()));
    assertEquals(2, nonce.gpus().size());
    assertEquals(
        org.teekms.attest.gpu.GpuAttestationException.Reason.NONCE_MISMATCH,
        nonce.gpus().get(0).failure());

    // Evidence never measured into RTMR3 (relayed): one failed NOT_MEASURED result.
    KeyPair keys2 = RaTlsCertificateFactory.newKeyPair();
    var unmeasured = gpus.collect(org.teekms.attest.gpu.GpuNonce.forSpki(spki(keys2)));
    var q2 = cvm.eventLog().quote(cvm, ReportDataBinding.forSpki(spki(keys2)));
    RaTlsIdentity relayed =
        verifier.verify(
            certificate(keys2, q2.quote().toByteArray(), q2.eventLogJson(), unmeasured.encode()));
    assertEquals(1, relayed.gpus().size());
    assertEquals(
        org.teekms.attest.gpu.GpuAttestationException.Reason.NOT_MEASURED,
        relayed.gpus().get(0).failure());
    assertTrue(
        relayed.gpus().get(0).error().contains("not the one last measured"),
        relayed.gpus().get(0).error());

    // Undecodable evidence (measured as such): one failed MALFORMED_EVIDENCE result.
    KeyPair keys3 = RaTlsCertificateFactory.newKeyPair();
    byte[] garbage = {0x30, 0x03, 0x02, 0x01, 0x07};
    cvm.eventLog()
        .emit(
            DstackBootSequence.GPU_EVIDENCE,
            java.security.MessageDigest.getInstance("SHA-384").digest(garbage));
    var q3 = cvm.eventLog().quote(cvm, ReportDataBinding.forSpki(spki(keys3)));
    RaTlsIdentity malformed =
        verifier.verify(certificate(keys3, q3.quote().toByteArray(), q3.eventLogJson(), garbage));
    assertEquals(
        org.teekms.attest.gpu.GpuAttestationException.Reason.MALFORMED_EVIDENCE,
        malformed.gpus().get(0).failure());

    // No evidence: no GPUs, no refusal (whether GPUs are required is the caller's policy).
    assertTrue(verifier.verify(SimulatedRaTls.credentials(APP).certificate()).gpus().isEmpty());
  }
}
