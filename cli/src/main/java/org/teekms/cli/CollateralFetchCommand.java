package org.teekms.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.teekms.attest.tdx.QuoteParseException;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.attest.tdx.collateral.Collateral;
import org.teekms.attest.tdx.collateral.CollateralDirectory;
import org.teekms.attest.tdx.collateral.CollateralException;
import org.teekms.attest.tdx.collateral.CollateralRequest;
import org.teekms.attest.tdx.collateral.PcsCollateralClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code teekms collateral fetch --quote Q --pccs URL --out DIR}: fetches the collateral a quote
 * needs (TCB info for its FMSPC, QE identity, PCK CRL of its PCK CA, root CA CRL) and writes a
 * collateral directory. Nothing is verified here: {@code teekms verify quote --collateral DIR} does
 * that. Exit 0 on success, 1 on failure, 2 on usage errors.
 */
@Command(
    name = "fetch",
    mixinStandardHelpOptions = true,
    description =
        "Fetch the collateral for a quote from Intel PCS / a PCCS and write a collateral directory.")
public final class CollateralFetchCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--quote",
      required = true,
      paramLabel = "FILE",
      description = "Quote file: binary or hex.")
  Path quote;

  @Option(
      names = "--pccs",
      required = true,
      paramLabel = "URL",
      description = "Intel PCS / PCCS base URL.")
  String pccs;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory to write.")
  Path out;

  @Override
  public Integer call() throws Exception {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(quote);
    } catch (IOException e) {
      throw new ParameterException(
          spec.commandLine(), "--quote " + quote + " cannot be read: " + e.getMessage());
    }
    ObjectNode o = VerifyQuoteCommand.JSON.createObjectNode();
    int code;
    try {
      TdxQuote parsed = TdxQuote.parse(TdxQuote.decodeFile(bytes));
      CollateralRequest request = CollateralRequest.forQuote(parsed);
      Collateral c = new PcsCollateralClient(pccs).fetch(request);
      CollateralDirectory.write(c, out);
      o.put("ok", true);
      o.put("teeType", request.teeType().name());
      o.put("fmspc", request.fmspc().hex());
      o.put("pckCa", request.pckCa().pcsName());
      o.put("out", out.toString());
      o.put("nextUpdate", c.nextUpdate().toString());
      ObjectNode d = o.putObject("collateralSha256");
      c.digests().forEach(d::put);
      code = 0;
    } catch (QuoteParseException | CollateralException | IOException e) {
      o.put("ok", false);
      o.put("error", e.getMessage());
      code = 1;
    }
    spec.commandLine()
        .getOut()
        .println(VerifyQuoteCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o));
    spec.commandLine().getOut().flush();
    return code;
  }
}
