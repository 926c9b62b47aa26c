package org.teekms.agent.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.teekms.attest.ratls.RaTlsCertificateFactory;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;

/**
 * The agent trusts a KMS's OS only through hardware measurements: a registered KMS measurement is
 * mrAggregated, which hashes MRTD and RTMR0-2, so a TD that boots its own kernel and claims the
 * real KMS's app id, compose hash and OS image in RTMR3 is not that KMS.
 */
class KmsAuthorizerOsImageTest {
  private static final SimulatedTdx TDX =
      SimulatedTdx.enable("KmsAuthorizerOsImageTest", Clock.systemUTC());

  static RaTlsIdentity kms(byte[] mrTd, String image) throws Exception {
    byte[] os = new byte[32];
    Arrays.fill(os, (byte) 0x05);
    SimulatedCvm cvm =
        TDX.newCvm(mrTd, false)
            .boot(
                SimulatedCvm.App.ofCompose("tee-kms kms-server\n", new byte[20])
                    .withOsImageHash(os),
                image);
    var cert =
        new RaTlsCertificateFactory(
                cvm, cvm.eventLog(), null, Clock.systemUTC(), Duration.ofHours(1))
            .create("kms")
            .certificate();
    return RaTlsVerifier.builder(
            new DcapQuoteVerifier(TDX.rootCertificate()), TDX.collateralSource())
        .quotePolicy(QuotePolicy.builder().build())
        .build()
        .verify(cert);
  }

  @Test
  void aKmsImpostorOnItsOwnKernelIsNotTheRegisteredKms() throws Exception {
    RaTlsIdentity real = kms(new byte[48], SimulatedCvm.DEFAULT_IMAGE);
    byte[] other = new byte[48];
    Arrays.fill(other, (byte) 0x66);
    RaTlsIdentity impostor = kms(other, "ATTACKER");
    assertEquals(real.osImageHash(), impostor.osImageHash(), "same claimed OS image");
    assertEquals(real.composeHash(), impostor.composeHash(), "same claimed KMS code");
    assertNotEquals(real.mrSystem(), impostor.mrSystem());

    KmsAuthorizer authorizer =
        new KmsAuthorizer(
            KmsAuthorizer.KmsRegistry.allowing(Set.of(real.mrAggregated())), Optional.empty());
    assertEquals(Optional.empty(), authorizer.refuse(real));
    Optional<String> refused = authorizer.refuse(impostor);
    assertTrue(
        refused.isPresent() && refused.get().contains(impostor.mrAggregated().hex()),
        refused.toString());
  }

  @Test
  void theChainViewCarriesTheKmsHardwareMeasuredOs() throws Exception {
    RaTlsIdentity real = kms(new byte[48], SimulatedCvm.DEFAULT_IMAGE);
    var boot = ChainKmsRegistry.bootInfo(real);
    assertTrue(Arrays.equals(real.mrSystem().toByteArray(), boot.mrSystem().toByteArray()));
    assertEquals(real.osImageMeasured(), boot.osImageMeasured());
  }
}
