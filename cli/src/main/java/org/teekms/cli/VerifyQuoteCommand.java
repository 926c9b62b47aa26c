package org.teekms.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.EnclaveReport;
import org.teekms.attest.tdx.QuoteParseException;
import org.teekms.attest.tdx.QuoteVerificationResult;
import org.teekms.attest.tdx.TdReport;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.attest.tdx.VerificationFailure;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code teekms verify quote}: verifies an Intel DCAP quote (TDX or SGX) at a given time and prints
 * one JSON object. Exit 0 when valid, 1 when invalid (including malformed quotes or collateral), 2
 * on usage errors.
 */
@Command(
    name = "quote",
    mixinStandardHelpOptions = true,
    description =
        "Verify an Intel TDX/SGX DCAP quote against collateral and print one JSON object.")
public final class VerifyQuoteCommand implements Callable<Integer> {
  static final ObjectMapper JSON = new ObjectMapper();

  @Spec CommandSpec spec;

  @Option(
      names = "--quote",
      paramLabel = "FILE",
      description = "Quote file: binary, or hex (0x prefix allowed).")
  Path quote;

  @Option(
      names = "--event-log",
      paramLabel = "FILE",
      description =
          "dstack JSON event log to replay against the quote's RTMRs (adds \"eventLog\" to the output).")
  Path eventLog;

  @Option(
      names = "--dstack",
      paramLabel = "FILE",
      description =
          "dstack quote + event log JSON ({\"quote\": hex, \"event_log\": \"[...]\", \"vm_config\": …}) "
              + "instead of --quote/--event-log.")
  Path dstack;

  @Mixin QuoteVerificationOptions options;

  @Mixin MrSystemOptions mrSystem;

  @Override
  public Integer call() throws Exception {
    options.requireOneCollateralSource();
    if ((quote == null) == (dstack == null)) {
      throw new ParameterException(spec.commandLine(), "give exactly one of --quote or --dstack");
    }
    if (dstack != null && eventLog != null) {
      throw new ParameterException(
          spec.commandLine(), "--dstack carries its own event log; drop --event-log");
    }
    java.util.Set<org.teekms.crypto.Bytes> golden = mrSystem.golden(spec);
    Instant time = options.time();
    DcapQuoteVerifier verifier = options.verifier();
    DstackFile dstackFile = dstack == null ? null : DstackFile.read(spec, dstack);
    byte[] bytes =
        dstackFile != null ? dstackFile.quote().toByteArray() : options.read(quote, "--quote");
    if (dstackFile == null) {
      InputFiles.pemLabel(bytes)
          .ifPresent(
              label -> {
                throw new ParameterException(
                    spec.commandLine(),
                    "--quote "
                        + quote
                        + " is "
                        + InputFiles.describePem(label)
                        + ", not a quote (give the quote as binary or hex, e.g. a configfs-tsm outblob)");
              });
    }
    String log =
        dstackFile != null
            ? dstackFile.eventLog()
            : eventLog == null
                ? null
                : new String(options.read(eventLog, "--event-log"), StandardCharsets.UTF_8);
    ObjectNode out;
    QuoteVerificationResult result = null;
    TdxQuote parsed = null;
    try {
      parsed = TdxQuote.parse(TdxQuote.decodeFile(bytes));
      result = verifier.verify(parsed, options.source(), time);
      out = toJson(result);
    } catch (QuoteParseException e) {
      out = invalid(VerificationFailure.MALFORMED_QUOTE, e.getMessage());
    } catch (QuoteVerificationOptions.CollateralLoadException e) {
      out = invalid(VerificationFailure.COLLATERAL_UNAVAILABLE, e.getMessage());
    }
    boolean valid = result != null && result.valid();
    if (log != null) {
      boolean replayed = false;
      if (parsed != null && parsed.tdReport() != null) {
        replayed =
            EventLogJson.put(
                out,
                log,
                parsed.tdReport(),
                dstackFile == null ? null : dstackFile.vmConfigOsImageHash());
      } else {
        ObjectNode e = out.putObject("eventLog");
        e.put("replayed", false);
        e.put("error", "no TD report to replay the event log against");
      }
      if (valid && !replayed) {
        out.put("valid", false);
        out.put("failure", "EVENT_LOG_INVALID");
        out.put("error", "event log: " + out.get("eventLog").get("error").asText());
      }
      valid &= replayed;
      if (replayed) {
        // the launch configuration (MRCONFIGID), when set, must name the compose the log measured
        java.util.Optional<String[]> launch = EventLogJson.mrConfigId(out, parsed.tdReport());
        if (launch.isPresent() && valid) {
          out.put("valid", false);
          out.put("failure", launch.get()[0]);
          out.put("error", launch.get()[1]);
        }
        valid &= launch.isEmpty();
      }
    }
    if (dstackFile != null
        && dstackFile.vmConfigJson().isPresent()
        && parsed != null
        && parsed.tdReport() != null) {
      // Reported, not (yet) part of "valid": whether the measurements prove the vm_config's OS
      // image.
      out.set(
          "osImage",
          OsImageJson.check(
              parsed.tdReport(),
              dstackFile.vmConfigJson().get().toByteArray(),
              dstackFile.eventLog()));
    }
    if (parsed != null && parsed.tdReport() != null) {
      // reported always; enforced only when the user gave golden values (this command verifies, it
      // does not admit)
      java.util.Optional<String[]> os =
          MrSystemOptions.put(
              out,
              parsed.tdReport(),
              out.path("eventLog").path("osImageHash").asText(null),
              golden,
              false);
      if (os.isPresent() && valid) {
        out.put("valid", false);
        out.put("failure", os.get()[0]);
        out.put("error", os.get()[1]);
      }
      valid &= os.isEmpty();
    }
    spec.commandLine()
        .getOut()
        .println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
    spec.commandLine().getOut().flush();
    return valid ? 0 : 1;
  }

  private static ObjectNode invalid(VerificationFailure failure, String error) {
    ObjectNode out = JSON.createObjectNode();
    out.put("valid", false);
    out.putNull("status");
    out.putArray("advisoryIds");
    out.put("failure", failure.name());
    out.put("error", error);
    return out;
  }

  /** The stable JSON contract (see README): verdict, quote identity, and the TD fields. */
  static ObjectNode toJson(QuoteVerificationResult r) {
    ObjectNode o = JSON.createObjectNode();
    o.put("valid", r.valid());
    if (r.status() == null) {
      o.putNull("status");
    } else {
      o.put("status", r.status().name());
    }
    ArrayNode ids = o.putArray("advisoryIds");
    r.advisoryIds().forEach(ids::add);
    if (!r.valid()) {
      o.put("failure", r.failure().name());
      o.put("error", r.error());
    }
    o.put("verifiedAt", r.verifiedAt().toString());
    if (r.quote() != null) {
      o.put("quoteVersion", r.quote().header().version());
      o.put("teeType", r.quote().teeType().name());
    }
    if (r.pck() != null) {
      o.put("fmspc", r.pck().fmspc().hex());
      o.put("deviceId", r.deviceId().hex());
      ObjectNode pck = o.putObject("pck");
      pck.put("pceId", r.pck().pceId().hex());
      pck.put("pceSvn", r.pck().pceSvn());
      pck.put("cpuSvn", r.pck().cpuSvn().hex());
      ArrayNode comps = pck.putArray("cpuSvnComponents");
      r.pck().cpuSvnComponents().forEach(comps::add);
    }
    if (r.tcb() != null) {
      ObjectNode tcb = o.putObject("tcb");
      tcb.put("platformStatus", r.tcb().platformStatus().name());
      tcb.put("platformTcbDate", r.tcb().platformTcbDate().toString());
      tcb.put(
          "tdxModuleStatus",
          r.tcb().tdxModuleStatus() == null ? null : r.tcb().tdxModuleStatus().name());
      tcb.put("qeStatus", r.tcb().qeStatus().name());
    }
    TdReport td = r.td();
    if (td != null) {
      ObjectNode t = o.putObject("td");
      t.put("mrTd", td.mrTd().hex());
      for (int i = 0; i < 4; i++) {
        t.put("rtmr" + i, td.rtmr(i).hex());
      }
      t.put("mrSystem", org.teekms.attest.tdx.MrSystem.of(td).hex());
      t.put("reportData", td.reportData().hex());
      t.put("mrConfigId", td.mrConfigId().hex());
      t.put("mrOwner", td.mrOwner().hex());
      t.put("mrOwnerConfig", td.mrOwnerConfig().hex());
      t.put("tdAttributes", td.tdAttributes().raw().hex());
      t.put("debug", td.tdAttributes().debug());
      t.put("teeTcbSvn", td.teeTcbSvn().hex());
      t.put("mrSeam", td.mrSeam().hex());
      t.put("mrSignerSeam", td.mrSignerSeam().hex());
      t.put("seamAttributes", td.seamAttributes().hex());
      t.put("xfam", td.xfam().hex());
      if (td.isTd15()) {
        t.put("teeTcbSvn2", td.teeTcbSvn2().hex());
        t.put("mrServiceTd", td.mrServiceTd().hex());
      }
    } else if (r.quote() != null) {
      EnclaveReport e = r.quote().enclaveReport();
      ObjectNode s = o.putObject("enclave");
      s.put("mrEnclave", e.mrEnclave().hex());
      s.put("mrSigner", e.mrSigner().hex());
      s.put("isvProdId", e.isvProdId());
      s.put("isvSvn", e.isvSvn());
      s.put("attributes", e.attributes().hex());
      s.put("debug", e.debug());
      s.put("reportData", e.reportData().hex());
    }
    ObjectNode digests = o.putObject("collateralSha256");
    r.collateralDigests().forEach(digests::put);
    return o;
  }
}
