package org.teekms.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import org.teekms.proto.OperatorRequest;
import org.teekms.proto.OperatorRequestMessage;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * Operator requests for a registry owned by a contract (EIP-1271: a multisig, a smart account), in
 * two steps: {@code --print-digest} prints a fresh unsigned request and the 32-byte digest its
 * owner contract must approve; {@code --request FILE --signature-file FILE} submits that request
 * with the signature bytes the contract validates.
 */
public final class ContractOwnerOptions {

  @Option(
      names = "--print-digest",
      description =
          "Print a fresh unsigned request, its message and the digest (EIP-191 hash) an EIP-1271 owner "
              + "contract must approve, then exit without sending anything. Save the output for --request.")
  boolean printDigest;

  @Option(
      names = "--request",
      paramLabel = "FILE",
      description =
          "Submit this unsigned request (the output of --print-digest, or its \"request\" object) with "
              + "--signature-file instead of signing with a key.")
  Path requestFile;

  @Option(
      names = "--signature-file",
      paramLabel = "FILE",
      description =
          "Hex signature bytes for --request, as the owner contract's isValidSignature(digest, signature) "
              + "expects them (for an EOA owner: the 65-byte personal_sign signature).")
  Path signatureFile;

  /** Checks the combination; true when the request comes from files rather than a key. */
  boolean external(CommandSpec spec) {
    if (printDigest && (requestFile != null || signatureFile != null)) {
      throw new ParameterException(
          spec.commandLine(), "--print-digest takes neither --request nor --signature-file");
    }
    if ((requestFile == null) != (signatureFile == null)) {
      throw new ParameterException(
          spec.commandLine(), "--request and --signature-file go together");
    }
    return requestFile != null;
  }

  /** The request JSON that --print-digest prints and --request reads back. */
  static ObjectNode requestJson(OperatorRequest r) {
    ObjectNode o = VerifyQuoteCommand.JSON.createObjectNode();
    o.put("action", r.getAction());
    o.put("kmsId", r.getKmsId());
    o.put("chainId", Long.toUnsignedString(r.getChainId()));
    o.put("registry", r.getRegistry().toLowerCase(java.util.Locale.ROOT));
    if (!r.getAppId().isEmpty()) {
      o.put("appId", "0x" + HexFormat.of().formatHex(r.getAppId().toByteArray()));
    }
    o.put("timestampMillis", r.getTimestampMillis());
    o.put("nonce", HexFormat.of().formatHex(r.getNonce().toByteArray()));
    return o;
  }

  /** Fills {@code out} with what the owner contract's signers must approve. */
  static void describe(OperatorRequest unsigned, ObjectNode out) {
    out.set("request", requestJson(unsigned));
    out.put("message", new String(OperatorRequestMessage.bytes(unsigned), StandardCharsets.UTF_8));
    out.put("digest", "0x" + HexFormat.of().formatHex(OperatorRequestMessage.digest(unsigned)));
  }

  /** The request from --request with the signature from --signature-file. */
  OperatorRequest load(CommandSpec spec) {
    JsonNode root;
    try {
      root =
          VerifyQuoteCommand.JSON.readTree(Files.readString(requestFile, StandardCharsets.UTF_8));
    } catch (IOException | RuntimeException e) {
      throw new ParameterException(
          spec.commandLine(),
          "--request " + requestFile + " is not readable JSON: " + e.getMessage());
    }
    JsonNode r = root != null && root.has("request") ? root.get("request") : root;
    OperatorRequest.Builder b = OperatorRequest.newBuilder();
    try {
      b.setAction(text(r, "action"))
          .setKmsId(text(r, "kmsId"))
          .setChainId(Long.parseUnsignedLong(text(r, "chainId")))
          .setRegistry(text(r, "registry"))
          .setTimestampMillis(Long.parseLong(text(r, "timestampMillis")))
          .setNonce(ByteString.copyFrom(HexFormat.of().parseHex(text(r, "nonce"))));
      if (r.hasNonNull("appId")) {
        b.setAppId(ByteString.copyFrom(hex(text(r, "appId"))));
      }
      OperatorRequestMessage.bytes(b.build()); // every field valid, or no request at all
    } catch (IllegalArgumentException e) {
      throw new ParameterException(
          spec.commandLine(), "--request " + requestFile + ": " + e.getMessage());
    }
    byte[] signature;
    try {
      signature =
          hex(Files.readString(signatureFile, StandardCharsets.US_ASCII).replaceAll("\\s", ""));
    } catch (IOException | IllegalArgumentException e) {
      throw new ParameterException(
          spec.commandLine(),
          "--signature-file "
              + signatureFile
              + " does not hold hex signature bytes: "
              + e.getMessage());
    }
    if (signature.length == 0) {
      throw new ParameterException(
          spec.commandLine(), "--signature-file " + signatureFile + " is empty");
    }
    return b.setSignature(ByteString.copyFrom(signature)).build();
  }

  private static String text(JsonNode node, String field) {
    if (node == null || !node.hasNonNull(field)) {
      throw new IllegalArgumentException("missing field \"" + field + "\"");
    }
    return node.get(field).asText();
  }

  private static byte[] hex(String s) {
    return HexFormat.of().parseHex(s.startsWith("0x") || s.startsWith("0X") ? s.substring(2) : s);
  }
}
