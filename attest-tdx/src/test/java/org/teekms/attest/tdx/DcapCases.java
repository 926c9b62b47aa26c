package org.teekms.attest.tdx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.teekms.attest.Fixtures;
import org.teekms.attest.tdx.collateral.Collateral;
import org.teekms.attest.tdx.collateral.CollateralDirectory;
import org.teekms.attest.tdx.collateral.CollateralException;
import org.teekms.attest.tdx.collateral.DcapQvlCollateralFile;

/**
 * The DCAP cases of {@code fixtures/expected/*.json}: quote bytes, expected parse, and
 * verifications to run.
 */
public record DcapCases(
    String id, String quoteFile, byte[] quote, JsonNode expected, List<Check> checks) {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** One {@code verification[]} entry: collateral, time, and the independent expected verdict. */
  public record Check(String collateralName, Collateral collateral, Instant at, JsonNode verdict) {
    @Override
    public String toString() {
      return collateralName + " @ " + at;
    }
  }

  @Override
  public String toString() {
    return id;
  }

  public static List<DcapCases> all() {
    List<DcapCases> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(Fixtures.path("expected"))) {
      for (Path f : files.sorted().toList()) {
        JsonNode n = MAPPER.readTree(f.toFile());
        if (!n.has("quote_file") || !n.has("parsed")) {
          continue;
        }
        String quoteFile = n.get("quote_file").asText();
        List<Check> checks = new ArrayList<>();
        for (JsonNode v : n.path("verification")) {
          String name = v.get("collateral").get(0).asText().split(" ")[0];
          checks.add(
              new Check(
                  name,
                  collateral(v.get("collateral")),
                  Instant.parse(v.get("verification_time").asText()),
                  v.get("independent_check")));
        }
        out.add(new DcapCases(n.get("id").asText(), quoteFile, quoteBytes(quoteFile), n, checks));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  public static DcapCases byId(String id) {
    return all().stream().filter(c -> c.id.equals(id)).findFirst().orElseThrow();
  }

  static byte[] quoteBytes(String quoteFile) throws IOException {
    try {
      if (quoteFile.startsWith("dstack/quote-report.json")) {
        String hex =
            MAPPER.readTree(Fixtures.bytes("dstack/quote-report.json")).get("quote").asText();
        return TdxQuote.decodeFile(hex.getBytes(StandardCharsets.US_ASCII));
      }
      return TdxQuote.decodeFile(Fixtures.bytes(quoteFile.split(" ")[0]));
    } catch (QuoteParseException e) {
      throw new IOException(e);
    }
  }

  static Collateral collateral(JsonNode names) throws IOException {
    try {
      String first = names.get(0).asText().split(" ")[0];
      if (first.startsWith("dcap-qvl/")) {
        return DcapQvlCollateralFile.load(Fixtures.path(first)).collateral();
      }
      return goTdxGuestCollateral();
    } catch (CollateralException e) {
      throw new IOException(e);
    }
  }

  /**
   * go-tdx-guest's collateral, read through CollateralDirectory from a temporary directory that is
   * removed before returning (deleteOnExit alone leaked one directory per killed fuzz or PIT JVM).
   */
  static Collateral goTdxGuestCollateral() throws IOException, CollateralException {
    Path dir = goTdxGuestCollateralDir();
    try {
      return CollateralDirectory.read(dir);
    } finally {
      try (var files = Files.list(dir)) {
        for (Path f : (Iterable<Path>) files::iterator) {
          Files.delete(f);
        }
      }
      Files.delete(dir);
    }
  }

  /**
   * go-tdx-guest's collateral files copied into a directory with the PCS layout CollateralDirectory
   * reads.
   */
  private static Path goTdxGuestCollateralDir() throws IOException {
    Path dir = Files.createTempDirectory("gtg-collateral");
    copy("go-tdx-guest/sample_tcbInfo_response", dir.resolve(CollateralDirectory.TCB_INFO));
    copy("go-tdx-guest/tcb_info_issuer_chain.pem", dir.resolve(CollateralDirectory.TCB_INFO_CHAIN));
    copy("go-tdx-guest/sample_qeIdentity_response", dir.resolve(CollateralDirectory.QE_IDENTITY));
    copy(
        "go-tdx-guest/qe_identity_issuer_chain.pem",
        dir.resolve(CollateralDirectory.QE_IDENTITY_CHAIN));
    copy("go-tdx-guest/pckcrl", dir.resolve("pck_crl.der"));
    copy("go-tdx-guest/pck_crl_issuer_chain.pem", dir.resolve(CollateralDirectory.PCK_CRL_CHAIN));
    copy("go-tdx-guest/rootcrl.der", dir.resolve("root_ca_crl.der"));
    return dir;
  }

  private static void copy(String fixture, Path to) throws IOException {
    Files.copy(Fixtures.path(fixture), to);
  }
}
