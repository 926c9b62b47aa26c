package org.teekms.attest.ratls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.tdx.MrSystem;
import org.teekms.crypto.Bytes;

/**
 * The verified identity carries the OS identity the hardware measured (mrSystem over MRTD and
 * RTMR0-2), so a CVM that boots its own kernel and claims a victim's app id, compose hash and OS
 * image in RTMR3 is told apart; and the OS image is "proven" only by an {@link OsImageCheck}, never
 * by the claim.
 */
class OsImageIdentityTest {
  static final String APP = "services:\n  web: {image: nginx}\n";
  static final byte[] IMAGE = filled(32, 0x05);

  static byte[] filled(int n, int v) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) v);
    return b;
  }

  static SimulatedCvm.App victim() {
    byte[] instance = filled(20, 0x11);
    return SimulatedCvm.App.ofCompose(APP, instance).withOsImageHash(IMAGE);
  }

  static RaTlsIdentity verify(SimulatedCvm cvm, byte[] vmConfig, OsImageCheck check)
      throws Exception {
    KeyPair keys = RaTlsCertificateFactory.newKeyPair();
    RuntimeEventLog.QuoteWithLog q =
        cvm.eventLog().quote(cvm, ReportDataBinding.forSpki(keys.getPublic().getEncoded()));
    var cert =
        new RaTlsCertificateFactory(
                rd -> new byte[0],
                RaTlsHandshakeTest.emptyLog(),
                null,
                SimulatedRaTls.CLOCK,
                Duration.ofHours(1))
            .build(
                keys,
                "t",
                q.quote().toByteArray(),
                q.eventLogJson().getBytes(StandardCharsets.UTF_8),
                null,
                vmConfig);
    return SimulatedRaTls.verifier().osImageCheck(check).build().verify(cert);
  }

  @Test
  void mrSystemIsTheSha256OfTheQuotesMrtdAndRtmr0To2() throws Exception {
    SimulatedCvm cvm = SimulatedRaTls.TDX.newCvm(new byte[48], false).boot(victim());
    RaTlsIdentity id = verify(cvm, null, OsImageCheck.NONE);
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    sha.update(id.td().mrTd().toByteArray());
    for (int i = 0; i < 3; i++) {
      sha.update(id.td().rtmr(i).toByteArray());
    }
    assertArrayEquals(sha.digest(), id.mrSystem().toByteArray());
    assertArrayEquals(cvm.mrSystem(), id.mrSystem().toByteArray());
  }

  @Test
  void anAttackerKernelClaimingTheVictimsIdentityHasAnotherMrSystem() throws Exception {
    RaTlsIdentity real =
        verify(
            SimulatedRaTls.TDX.newCvm(new byte[48], false).boot(victim()), null, OsImageCheck.NONE);
    RaTlsIdentity forged =
        verify(
            SimulatedRaTls.TDX.newCvm(filled(48, 0x66), false).boot(victim(), "ATTACKER"),
            null,
            OsImageCheck.NONE);
    // the guest-written identity is the same: this is the hole
    assertEquals(real.appId(), forged.appId());
    assertEquals(real.composeHash(), forged.composeHash());
    assertEquals(real.osImageHash(), forged.osImageHash());
    // what the TDX module measured is not
    assertNotEquals(real.mrSystem(), forged.mrSystem());
    assertNotEquals(real.rtmr(1), forged.rtmr(1));
    assertNotEquals(real.rtmr(2), forged.rtmr(2));
    assertFalse(real.osImageMeasured());
    assertFalse(forged.osImageMeasured());
  }

  @Test
  void defaultCheckProvesNothingEvenWithADocument() throws Exception {
    SimulatedCvm cvm = SimulatedRaTls.TDX.newCvm(new byte[48], false).boot(victim());
    RaTlsIdentity id =
        verify(
            cvm, "{\"os_image_hash\":\"05\"}".getBytes(StandardCharsets.UTF_8), OsImageCheck.NONE);
    assertFalse(id.osImageMeasured());
    assertTrue(
        id.osImage().detail().contains("no measurement-document verifier"), id.osImage().detail());
  }

  @Test
  void theCheckSeesTheQuoteTheReplayedLogAndTheCarriedVmConfig() throws Exception {
    SimulatedCvm cvm = SimulatedRaTls.TDX.newCvm(new byte[48], false).boot(victim());
    byte[] vmConfig = "{\"os_image_hash\":\"x\"}".getBytes(StandardCharsets.UTF_8);
    AtomicReference<String> seen = new AtomicReference<>();
    RaTlsIdentity id =
        verify(
            cvm,
            vmConfig,
            (td, log, entries, doc) -> {
              seen.set(
                  MrSystem.of(td).hex()
                      + "|"
                      + log.identity().osImageHash().map(Bytes::hex).orElse("")
                      + "|"
                      + doc.map(d -> new String(d, StandardCharsets.UTF_8)).orElse(""));
              return OsImageProof.proven("test document");
            });
    assertTrue(id.osImageMeasured());
    assertEquals(
        Bytes.copyOf(cvm.mrSystem()).hex()
            + "|"
            + Bytes.copyOf(IMAGE).hex()
            + "|{\"os_image_hash\":\"x\"}",
        seen.get());
  }

  @Test
  void aCheckThatThrowsOrAnswersNullProvesNothing() throws Exception {
    RaTlsIdentity threw =
        verify(
            SimulatedRaTls.TDX.newCvm(new byte[48], false).boot(victim()),
            null,
            (td, log, entries, doc) -> {
              throw new IllegalStateException("boom");
            });
    assertFalse(threw.osImageMeasured());
    assertTrue(threw.osImage().detail().contains("boom"));
    RaTlsIdentity nul =
        verify(
            SimulatedRaTls.TDX.newCvm(new byte[48], false).boot(victim()),
            null,
            (td, log, entries, doc) -> null);
    assertFalse(nul.osImageMeasured());
  }

  @Test
  void noClaimedImageIsNeverProven() throws Exception {
    SimulatedCvm cvm =
        SimulatedRaTls.TDX
            .newCvm(new byte[48], false)
            .boot(SimulatedCvm.App.ofCompose(APP, filled(20, 1)));
    RaTlsIdentity id =
        verify(cvm, null, (td, log, entries, doc) -> OsImageProof.proven("would prove anything"));
    assertFalse(id.osImageMeasured());
    assertEquals(Optional.empty(), id.osImageHash());
  }

  @Test
  void vmConfigExtensionIsBoundedAndParsed() throws Exception {
    SimulatedCvm cvm = SimulatedRaTls.TDX.newCvm(new byte[48], false).boot(victim());
    KeyPair keys = RaTlsCertificateFactory.newKeyPair();
    RuntimeEventLog.QuoteWithLog q =
        cvm.eventLog().quote(cvm, ReportDataBinding.forSpki(keys.getPublic().getEncoded()));
    RaTlsCertificateFactory f =
        new RaTlsCertificateFactory(
            rd -> new byte[0],
            RaTlsHandshakeTest.emptyLog(),
            null,
            SimulatedRaTls.CLOCK,
            Duration.ofHours(1));
    byte[] log = q.eventLogJson().getBytes(StandardCharsets.UTF_8);
    byte[] doc = "{}".getBytes(StandardCharsets.UTF_8);
    assertArrayEquals(
        doc,
        RaTlsCertificateParser.parse(f.build(keys, "t", q.quote().toByteArray(), log, null, doc))
            .vmConfig()
            .orElseThrow()
            .toByteArray());
    assertTrue(
        RaTlsCertificateParser.parse(f.build(keys, "t", q.quote().toByteArray(), log, null))
            .vmConfig()
            .isEmpty());
    RaTlsException big =
        assertThrows(
            RaTlsException.class,
            () ->
                RaTlsCertificateParser.parse(
                    f.build(
                        keys,
                        "t",
                        q.quote().toByteArray(),
                        log,
                        null,
                        new byte[RaTlsCertificateParser.MAX_VM_CONFIG_BYTES + 1])));
    assertEquals(RaTlsException.Reason.OVERSIZED_EXTENSION, big.reason());
    RaTlsException empty =
        assertThrows(
            RaTlsException.class,
            () ->
                RaTlsCertificateParser.parse(
                    f.build(keys, "t", q.quote().toByteArray(), log, null, new byte[0])));
    assertEquals(RaTlsException.Reason.MALFORMED_CERTIFICATE, empty.reason());
  }

  @Test
  void mrSystemRefusesRegistersOfTheWrongSize() {
    Bytes r = Bytes.copyOf(new byte[48]);
    assertThrows(
        IllegalArgumentException.class, () -> MrSystem.of(Bytes.copyOf(new byte[32]), r, r, r));
    // test vectors (docs/security.md), computed independently with Python's hashlib
    assertEquals(
        "5d89f056865052bcb89c910d2d62872e029fb273c3db03f8968a52a41593c1b5",
        MrSystem.of(r, r, r, r).hex());
    assertEquals(
        "aedb8966164c528cd0320a90fcd1467778be84cc303a41b3762d1f506bd97186",
        MrSystem.of(
                Bytes.copyOf(filled(48, 0)),
                Bytes.copyOf(filled(48, 1)),
                Bytes.copyOf(filled(48, 2)),
                Bytes.copyOf(filled(48, 3)))
            .hex());
  }
}
