package org.teekms.attest.tdx.collateral;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.attest.Fixtures;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.Pem;
import org.teekms.attest.tdx.QuoteVerificationResult;
import org.teekms.attest.tdx.TcbStatus;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.attest.tdx.TeeType;
import org.teekms.crypto.Bytes;

class CollateralSourcesTest {
  private static final Instant AT = Instant.parse("2025-07-19T10:00:34Z");

  private static DcapQuoteVerifier verifier() throws Exception {
    return new DcapQuoteVerifier(
        Pem.certificates(Fixtures.bytes("common/intel_sgx_root_ca.pem")).get(0));
  }

  private static Collateral tdxV4() throws Exception {
    return DcapQvlCollateralFile.load(Fixtures.path("dcap-qvl/tdx_quote_v4_collateral.json"))
        .collateral();
  }

  private static TdxQuote tdxV4Quote() throws Exception {
    return TdxQuote.parse(Fixtures.bytes("dcap-qvl/tdx_quote_v4.bin"));
  }

  @Test
  void directoryRoundTripKeepsExactSignedBytes(@TempDir Path dir) throws Exception {
    Collateral c = tdxV4();
    CollateralDirectory.write(c, dir);
    Collateral back = CollateralDirectory.load(dir).collateral();
    assertEquals(c.digests(), back.digests());
    assertEquals(c.id(), back.id());
    QuoteVerificationResult r = verifier().verify(tdxV4Quote(), CollateralDirectory.load(dir), AT);
    assertTrue(r.valid(), r::error);
    assertEquals(TcbStatus.UpToDate, r.status());
  }

  @Test
  void directoryAcceptsPemCrlsAndChainsWithoutRoot(@TempDir Path dir) throws Exception {
    Collateral c = tdxV4();
    CollateralDirectory.write(c, dir);
    Files.delete(dir.resolve("pck_crl.der"));
    Files.writeString(
        dir.resolve("pck_crl.pem"),
        "-----BEGIN X509 CRL-----\n"
            + java.util.Base64.getMimeEncoder().encodeToString(c.pckCrl().toByteArray())
            + "\n-----END X509 CRL-----\n");
    // drop the root from the TCB info issuer chain: the trust anchor completes it
    Files.writeString(
        dir.resolve(CollateralDirectory.TCB_INFO_CHAIN),
        CollateralDirectory.pem(c.tcbInfoIssuerChain().subList(0, 1)));
    Collateral back = CollateralDirectory.read(dir);
    assertEquals(c.pckCrl(), back.pckCrl());
    assertEquals(1, back.tcbInfoIssuerChain().size());
    assertTrue(verifier().verify(tdxV4Quote(), back, AT).valid());
  }

  @Test
  void pcsBodySplitKeepsInnerTextByteForByte() throws Exception {
    byte[] body = Fixtures.bytes("go-tdx-guest/sample_tcbInfo_response");
    SignedJson doc = SignedJson.fromPcsBody(body, "tcbInfo");
    String text = new String(body, java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(text.startsWith("{\"tcbInfo\":" + doc.json() + ",\"signature\":\""));
    assertEquals(64, doc.signature().length());
    assertThrows(
        CollateralException.class,
        () -> SignedJson.fromPcsBody("{\"tcbInfo\":{}}".getBytes(), "tcbInfo"));
    assertThrows(
        CollateralException.class, () -> SignedJson.fromPcsBody("[1]".getBytes(), "tcbInfo"));
    assertThrows(
        CollateralException.class,
        () ->
            SignedJson.fromPcsBody(
                "{\"tcbInfo\":{},\"signature\":\"00\",\"x\":1}".getBytes(), "tcbInfo"));
  }

  @Test
  void pcsClientFetchesFromLocalServerAndCacheHonoursNextUpdate() throws Exception {
    Collateral c = tdxV4();
    TdxQuote quote = tdxV4Quote();
    CollateralRequest request = CollateralRequest.forQuote(quote);
    assertEquals(
        new CollateralRequest(
            TeeType.TDX, Bytes.fromHex("b0c06f000000"), CollateralRequest.PckCa.PLATFORM),
        request);
    try (FakePcsServer pcs = new FakePcsServer(c, "tdx", "B0C06F000000")) {
      PcsCollateralClient client =
          new PcsCollateralClient(pcs.baseUrl() + "/tdx/certification/v4/");
      Collateral fetched = client.fetch(request);
      assertEquals(c.digests(), fetched.digests());
      assertEquals(4, pcs.requests.get());

      AtomicReference<Instant> now = new AtomicReference<>(AT);
      Clock clock =
          new Clock() {
            @Override
            public java.time.ZoneId getZone() {
              return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
              return this;
            }

            @Override
            public Instant instant() {
              return now.get();
            }
          };
      CachingCollateralSource cache = new CachingCollateralSource(client, clock);
      DcapQuoteVerifier verifier = verifier();
      QuoteVerificationResult r = verifier.verify(quote, cache, AT);
      assertTrue(r.valid(), r::error);
      assertEquals(8, pcs.requests.get());
      Collateral first = cache.fetch(request);
      for (int i = 0; i < 10; i++) {
        assertTrue(verifier.verify(quote, cache, AT).valid());
      }
      assertSame(first, cache.fetch(request));
      assertEquals(8, pcs.requests.get(), "warm cache must not touch the network");

      Instant nextUpdate = c.nextUpdate();
      assertEquals(
          Instant.parse("2025-07-19T10:00:35Z"),
          nextUpdate); // the root CA CRL's nextUpdate is earliest
      now.set(nextUpdate.plusSeconds(1));
      // The PCCS still serves the same, now expired, collateral: it is fetched again and refused
      // as if the PCCS were unreachable (retryable), never used.
      CollateralException expired =
          assertThrows(CollateralException.class, () -> cache.fetch(request));
      assertTrue(expired.getMessage().contains("expired collateral"), expired.getMessage());
      assertEquals(12, pcs.requests.get(), "stale collateral is fetched again");

      CollateralException e =
          assertThrows(
              CollateralException.class,
              () ->
                  client.fetch(
                      new CollateralRequest(
                          TeeType.TDX,
                          Bytes.fromHex("00906ea10000"),
                          CollateralRequest.PckCa.PLATFORM)));
      assertTrue(e.getMessage().contains("HTTP 404"), e.getMessage());
    }
  }

  @Test
  void unreachableServerIsACollateralError() {
    PcsCollateralClient client =
        new PcsCollateralClient(
            "http://127.0.0.1:1", java.net.http.HttpClient.newHttpClient(), Duration.ofSeconds(2));
    assertThrows(
        CollateralException.class,
        () ->
            client.fetch(
                new CollateralRequest(
                    TeeType.TDX, Bytes.fromHex("b0c06f000000"), CollateralRequest.PckCa.PLATFORM)));
  }

  @Test
  void crlBodiesMayBeDerPemOrHex() throws Exception {
    Collateral c = tdxV4();
    byte[] der = c.rootCaCrl().toByteArray();
    assertEquals(c.rootCaCrl(), PcsCollateralClient.crl(der, "x"));
    assertEquals(c.rootCaCrl(), PcsCollateralClient.crl(c.rootCaCrl().hex().getBytes(), "x"));
    assertThrows(CollateralException.class, () -> PcsCollateralClient.crl("zz".getBytes(), "x"));
  }

  @Test
  void malformedDcapQvlFilesAreCollateralErrors() {
    assertThrows(CollateralException.class, () -> DcapQvlCollateralFile.parse("{}".getBytes()));
    assertThrows(
        CollateralException.class, () -> DcapQvlCollateralFile.parse("not json".getBytes()));
    assertThrows(
        CollateralException.class,
        () ->
            DcapQvlCollateralFile.parse(
                Fixtures.text("dcap-qvl/tdx_quote_v4_collateral.json")
                    .replaceFirst("\"tcb_info_signature\":\\s*\"", "\"tcb_info_signature\": \"zz")
                    .getBytes()));
  }
}
