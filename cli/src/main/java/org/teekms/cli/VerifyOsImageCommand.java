package org.teekms.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.teekms.attest.tdx.QuoteParseException;
import org.teekms.attest.tdx.TdReport;
import org.teekms.attest.tdx.TdxQuote;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code teekms verify os-image --dstack FILE}: does the quote's MRTD / RTMR0-2 prove the OS image
 * its vm_config claims (dstack 0.6 measurement document path)? No DCAP here: it checks the binding
 * only, so run {@code verify quote} for the quote itself. Exit 0 proven, 1 not proven, 2 usage
 * error.
 */
@Command(
    name = "os-image",
    mixinStandardHelpOptions = true,
    description =
        "Check that a dstack quote's MRTD and RTMR0-2 are the measurements of the OS image its vm_config "
            + "names (no DCAP: the binding only) and print one JSON object.")
public final class VerifyOsImageCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--dstack",
      required = true,
      paramLabel = "FILE",
      description =
          "dstack GetQuote-style JSON: {\"quote\": hex, \"event_log\": \"[...]\", \"vm_config\": \"{...}\"}.")
  Path dstack;

  @Override
  public Integer call() throws Exception {
    DstackFile file = DstackFile.read(spec, dstack);
    if (file.vmConfigJson().isEmpty()) {
      throw new ParameterException(spec.commandLine(), "--dstack " + dstack + " has no vm_config");
    }
    ObjectNode out;
    try {
      TdReport td = TdxQuote.parse(file.quote().toByteArray()).tdReport();
      if (td == null) {
        throw new QuoteParseException("not a TDX quote (no TD report)");
      }
      out = OsImageJson.check(td, file.vmConfigJson().get().toByteArray(), file.eventLog());
    } catch (QuoteParseException e) {
      out = VerifyQuoteCommand.JSON.createObjectNode();
      out.put("verified", false);
      out.putNull("osImageHash");
      out.putNull("expected");
      out.putNull("actual");
      out.putArray("mismatches");
      out.put("failure", "MALFORMED_QUOTE");
      out.put("error", "MALFORMED_QUOTE: " + e.getMessage());
    }
    spec.commandLine()
        .getOut()
        .println(VerifyQuoteCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
    spec.commandLine().getOut().flush();
    return out.get("verified").asBoolean() ? 0 : 1;
  }
}
