package org.teekms.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Model.CommandSpec;

/**
 * The KMS-client commands' output: one JSON object on stdout with {@code ok}, and exit 0 (ok) or 1
 * (not ok).
 */
final class JsonResult {
  private JsonResult() {}

  /** Marks {@code out} as failed: a stable failure code plus the human-readable reason. */
  static ObjectNode fail(ObjectNode out, String failure, String error) {
    out.put("failure", failure);
    out.put("error", error);
    return out;
  }

  static int print(CommandSpec spec, ObjectNode out, boolean ok) throws Exception {
    out.put("ok", ok);
    spec.commandLine()
        .getOut()
        .println(VerifyQuoteCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
    spec.commandLine().getOut().flush();
    return ok ? 0 : 1;
  }
}
