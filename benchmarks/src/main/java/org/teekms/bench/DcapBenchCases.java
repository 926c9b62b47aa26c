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
import org.teekms.attest.tdx.collateral.DcapQvlCollateralFile;

/**
 * The quotes of {@code bench/dcap-cases.json} (shared with the JS side of {@code bench/dcap-compare}): fixture quote,
 * dcap-qvl collateral file and verification time. Fixtures come from {@code -Dteekms-fixtures} (default
 * {@code testdata}), the case list from {@code -Dteekms.bench.cases} (default
 * {@code bench/dcap-cases.json}), both relative to the working directory.
 */
public record DcapBenchCases(String id, byte[] quote, Collateral collateral, Instant at) {

  public static List<DcapBenchCases> load() throws Exception {
    Path fixtures = Path.of(System.getProperty("teekms-fixtures", "testdata"));
    Path casesFile = Path.of(System.getProperty("teekms.bench.cases", "bench/dcap-cases.json"));
    ObjectMapper mapper = new ObjectMapper();
    List<DcapBenchCases> out = new ArrayList<>();
    for (JsonNode c : mapper.readTree(casesFile.toFile())) {
      out.add(new DcapBenchCases(c.get("id").asText(), quote(mapper, fixtures, c.get("quote").asText()),
          DcapQvlCollateralFile.load(fixtures.resolve(c.get("collateral").asText())).collateral(),
          Instant.ofEpochSecond(c.get("at").asLong())));
    }
    return out;
  }

  public static DcapBenchCases byId(String id) throws Exception {
    return load().stream().filter(c -> c.id().equals(id)).findFirst()
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
