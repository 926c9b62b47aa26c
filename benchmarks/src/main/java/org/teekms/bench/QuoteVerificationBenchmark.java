package org.teekms.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuoteParseException;
import org.teekms.attest.tdx.QuoteVerificationResult;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.attest.tdx.collateral.Collateral;
import org.teekms.attest.tdx.collateral.CollateralException;
import org.teekms.attest.tdx.collateral.DcapQvlCollateralFile;

/**
 * DCAP quote verification throughput (operations/s = quotes/s, one thread).
 *
 * <ul>
 *   <li>{@code verifyWarm}: parse + full verification with collateral and PCK chain checks already
 *       cached (the KMS hot path): two ECDSA-P256 verifies (QE report, quote), SHA-256s, validity
 *       and CRL look-ups, TCB matching.
 *   <li>{@code verifyCold}: per quote, the dcap-qvl collateral JSON parsed from its bytes and a
 *       fresh verifier, so collateral signatures, issuer chains, both CRLs and the PCK chain are
 *       all checked again (what {@code @phala/dcap-qvl} does on every call; the cold column of
 *       {@code bench/dcap-compare}).
 *   <li>{@code verifyColdParsedCollateral}: the same with the collateral already parsed
 *       (certificates and CRL bytes).
 *   <li>{@code parseCollateral}: parsing the dcap-qvl collateral JSON alone.
 *   <li>{@code parse}: quote parsing alone.
 * </ul>
 *
 * Run: {@code java -jar benchmarks/target/benchmarks.jar QuoteVerificationBenchmark -f 1 -wi 2 -i
 * 3}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class QuoteVerificationBenchmark {

  @Param({"dcapqvl_tdx_v4", "dcapqvl_sgx_v3", "dstack_quote_report"})
  public String quoteCase;

  private DcapBenchCases c;
  private DcapQuoteVerifier warm;

  @Setup
  public void setup() throws Exception {
    c = DcapBenchCases.byId(quoteCase);
    warm = DcapQuoteVerifier.withIntelRoot();
    QuoteVerificationResult r = warm.verify(c.quote(), c.collateral(), c.at());
    if (!r.valid()) {
      throw new IllegalStateException(quoteCase + " does not verify: " + r.error());
    }
  }

  @Benchmark
  public QuoteVerificationResult verifyWarm() {
    return warm.verify(c.quote(), c.collateral(), c.at());
  }

  @Benchmark
  public QuoteVerificationResult verifyCold() {
    return DcapCompare.cold(warm.trustAnchor(), c);
  }

  @Benchmark
  public QuoteVerificationResult verifyColdParsedCollateral() {
    return new DcapQuoteVerifier(warm.trustAnchor()).verify(c.quote(), c.collateral(), c.at());
  }

  @Benchmark
  public Collateral parseCollateral() throws CollateralException {
    return DcapQvlCollateralFile.parse(c.collateralJson());
  }

  @Benchmark
  public TdxQuote parse() throws QuoteParseException {
    return TdxQuote.parse(c.quote());
  }
}
