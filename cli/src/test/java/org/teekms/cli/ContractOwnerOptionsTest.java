package org.teekms.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.teekms.proto.OperatorRequest;
import org.teekms.proto.OperatorRequestMessage;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * The request file of --print-digest / --request: round trip, and truncated, oversized and mutated
 * files.
 */
class ContractOwnerOptionsTest {

  @TempDir Path dir;

  private static final CommandSpec SPEC =
      TeeKmsCli.newCommandLine()
          .getSubcommands()
          .get("rotate")
          .getSubcommands()
          .get("app")
          .getCommandSpec();

  private static OperatorRequest request() {
    byte[] nonce = new byte[32];
    Arrays.fill(nonce, (byte) 0x5a);
    byte[] app = new byte[20];
    app[19] = 0x42;
    return OperatorRequest.newBuilder()
        .setAction("SYNC_APP")
        .setKmsId("kms-a")
        .setChainId(31337)
        .setRegistry("0x5fbdb2315678afecb367f032d93f642f64180aa3")
        .setAppId(ByteString.copyFrom(app))
        .setTimestampMillis(1_795_000_000_000L)
        .setNonce(ByteString.copyFrom(nonce))
        .build();
  }

  private ContractOwnerOptions options(String requestJson, String signatureHex) throws Exception {
    ContractOwnerOptions o = new ContractOwnerOptions();
    o.requestFile = Files.writeString(dir.resolve("request.json"), requestJson);
    o.signatureFile = Files.writeString(dir.resolve("sig.hex"), signatureHex);
    return o;
  }

  @Test
  void printedRequestReadsBackExactlyWithItsSignature() throws Exception {
    ObjectNode printed = VerifyQuoteCommand.JSON.createObjectNode();
    ContractOwnerOptions.describe(request(), printed);
    assertEquals(
        "0x" + HexFormat.of().formatHex(OperatorRequestMessage.digest(request())),
        printed.get("digest").asText());
    assertEquals(
        new String(OperatorRequestMessage.bytes(request()), StandardCharsets.UTF_8),
        printed.get("message").asText());
    byte[] sig = new byte[130];
    Arrays.fill(sig, (byte) 7);
    OperatorRequest back =
        options(printed.toString(), "0x" + HexFormat.of().formatHex(sig) + "\n").load(SPEC);
    assertEquals(request(), back.toBuilder().clearSignature().build());
    assertArrayEquals(sig, back.getSignature().toByteArray());
    // The bare "request" object is accepted too.
    assertEquals(
        request(),
        options(printed.get("request").toString(), "01").load(SPEC).toBuilder()
            .clearSignature()
            .build());
  }

  @Test
  void badFilesAreUsageErrorsNamingTheProblem() throws Exception {
    String good = ContractOwnerOptions.requestJson(request()).toString();
    assertTrue(
        assertThrows(ParameterException.class, () -> options(good, "").load(SPEC))
            .getMessage()
            .contains("empty"));
    assertTrue(
        assertThrows(ParameterException.class, () -> options(good, "0xzz").load(SPEC))
            .getMessage()
            .contains("hex signature"));
    assertTrue(
        assertThrows(
                ParameterException.class,
                () -> options(good.replace("\"kmsId\"", "\"kms\""), "01").load(SPEC))
            .getMessage()
            .contains("kmsId"));
    assertTrue(
        assertThrows(
                ParameterException.class,
                () -> options(good.replace("kms-a", "kms a\\nb"), "01").load(SPEC))
            .getMessage()
            .contains("kms_id"));
    ContractOwnerOptions both = new ContractOwnerOptions();
    both.printDigest = true;
    both.signatureFile = dir.resolve("x");
    assertThrows(ParameterException.class, () -> both.external(SPEC));
    ContractOwnerOptions half = new ContractOwnerOptions();
    half.requestFile = dir.resolve("x");
    assertThrows(ParameterException.class, () -> half.external(SPEC));
  }

  @Test
  void truncatedOversizedAndMutatedRequestFilesNeverYieldAnInvalidRequest() throws Exception {
    byte[] good =
        ContractOwnerOptions.requestJson(request()).toString().getBytes(StandardCharsets.UTF_8);
    Random random = new Random(1271);
    int parsed = 0;
    for (int i = 0; i < 600; i++) {
      byte[] m =
          switch (i % 3) {
            case 0 -> Arrays.copyOf(good, random.nextInt(good.length));
            case 1 -> {
              byte[] b = Arrays.copyOf(good, good.length + 1 + random.nextInt(4096));
              for (int j = good.length; j < b.length; j++) b[j] = (byte) random.nextInt(256);
              yield b;
            }
            default -> {
              byte[] b = good.clone();
              for (int j = 0, n = 1 + random.nextInt(4); j < n; j++)
                b[random.nextInt(b.length)] ^= (byte) (1 + random.nextInt(255));
              yield b;
            }
          };
      try {
        OperatorRequest r = options(new String(m, StandardCharsets.ISO_8859_1), "11").load(SPEC);
        OperatorRequestMessage.bytes(r); // whatever parses is a complete, valid request
        parsed++;
      } catch (ParameterException expected) {
        // a usage error naming the file
      }
    }
    assertTrue(parsed < 600, "mutations were rejected");
  }
}
