package org.teekms.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.attest.tdx.collateral.Collateral;
import org.teekms.attest.tdx.collateral.CollateralException;
import org.teekms.attest.tdx.collateral.DcapQvlCollateralFile;

/**
 * The quotes of {@code bench/dcap-cases.json} (shared with the JS side of {@code
 * bench/dcap-compare}): fixture quote, dcap-qvl collateral file (its raw JSON bytes and the parsed
 * form) and verification time. Fixtures come from {@code -Dteekms-fixtures} (default {@code
 * testdata}), the case list from {@code -Dteekms.bench.cases} (default {@code
 * bench/dcap-cases.json}), both relative to the working directory.
 */
public final class DcapBenchCases {
  private final String id;
  private final byte[] quote;
  private final byte[] collateralJson;
  private final Collateral collateral;
  private final Instant at;

  private DcapBenchCases(String id, byte[] quote, byte[] collateralJson, Instant at)
      throws CollateralException {
    this.id = id;
    this.quote = quote;
    this.collateralJson = collateralJson;
    this.collateral = DcapQvlCollateralFile.parse(collateralJson);
    this.at = at;
  }

  public String id() {
    return id;
  }

  /** The quote bytes (not copied: benchmark code must not modify them). */
  public byte[] quote() {
    return quote;
  }

  /** The collateral file as served, dcap-qvl JSON (not copied). */
  public byte[] collateralJson() {
    return collateralJson;
  }

  public Collateral collateral() {
    return collateral;
  }

  public Instant at() {
    return at;
  }

  public static List<DcapBenchCases> load() throws Exception {
    Path fixtures = Path.of(System.getProperty("teekms-fixtures", "testdata"));
    Path casesFile = Path.of(System.getProperty("teekms.bench.cases", "bench/dcap-cases.json"));
    ObjectMapper mapper = new ObjectMapper();
    List<DcapBenchCases> out = new ArrayList<>();
    for (JsonNode c : mapper.readTree(casesFile.toFile())) {
      out.add(
          new DcapBenchCases(
              c.get("id").asText(),
              quote(mapper, fixtures, c.get("quote").asText()),
              Files.readAllBytes(fixtures.resolve(c.get("collateral").asText())),
              Instant.ofEpochSecond(c.get("at").asLong())));
    }
    return out;
  }

  public static DcapBenchCases byId(String id) throws Exception {
    return load().stream()
        .filter(c -> c.id().equals(id))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no bench case " + id));
  }

  private static byte[] quote(ObjectMapper mapper, Path fixtures, String spec) throws Exception {
    String[] parts = spec.split("#", 2);
    byte[] raw = Files.readAllBytes(fixtures.resolve(parts[0]));
    if (parts.length == 2) { // a hex string field of a JSON file
      raw = mapper.readTree(raw).get(parts[1]).asText().getBytes(StandardCharsets.US_ASCII);
    }
    return TdxQuote.decodeFile(raw);
  }
}
