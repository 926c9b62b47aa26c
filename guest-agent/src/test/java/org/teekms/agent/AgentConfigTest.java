package org.teekms.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.teekms.agent.proxy.ReportLimits;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;

class AgentConfigTest {
  private static final String APP = "0x" + "11".repeat(20);

  /** The four keys every configuration needs, plus {@code extra} as key=value pairs. */
  static Properties minimal(String... extra) {
    Properties p = new Properties();
    p.setProperty("app.id", APP);
    p.setProperty("app.instance-id", "22".repeat(20));
    p.setProperty("app.os-image-hash", "33".repeat(32));
    p.setProperty("app.compose-file", "/etc/teekms/app-compose.json");
    p.setProperty("kms.host", "kms.example.org");
    for (String kv : extra) {
      int eq = kv.indexOf('=');
      p.setProperty(kv.substring(0, eq), kv.substring(eq + 1));
    }
    return p;
  }

  static String error(Properties p) {
    return assertThrows(IllegalArgumentException.class, () -> new AgentConfig(p)).getMessage();
  }

  @Test
  void unsetKeysTakeTheDocumentedDefaults() {
    AgentSettings s = new AgentConfig(minimal()).settings();
    assertEquals(AppId.fromHex(APP), s.app().id());
    assertEquals(8443, s.kms().port());
    assertEquals(500, s.kms().retry().initialMs());
    assertEquals(30_000, s.kms().retry().maxMs());
    assertEquals(20, s.kms().retry().attempts());
    assertEquals(30_000, s.kms().callTimeoutMs());
    assertEquals(List.of(), s.kms().registeredMeasurements().orElse(List.of()));
    assertEquals(AgentSettings.TeeProvider.CONFIGFS_TSM, s.attestation().provider());
    assertEquals(24, s.attestation().certificateValidityHours());
    assertEquals(Bytes.copyOf(new byte[48]), s.attestation().simulator().mrtd());
    assertEquals("compose", s.attestation().simulator().mrConfigId());
    // an unset hex key is absent, not zero bytes (the simulator then refuses to start unseeded)
    assertEquals(Optional.empty(), s.attestation().simulator().seed());
    assertEquals(AgentSettings.GpuProvider.NONE, s.gpu().provider());
    assertEquals(1, s.gpu().simulator().count());
    assertEquals(Optional.empty(), s.gpu().simulator().seed());
    assertEquals(Path.of("/var/run/dstack.sock"), s.api().socket());
    assertEquals("rw-rw----", s.api().socketMode());
    assertEquals(65536, s.api().maxBodyBytes());
    assertEquals(Path.of("/run/teekms-agent/admin.sock"), s.admin().socket());
    assertEquals(Path.of("/usr/sbin/cryptsetup"), s.disk().cryptsetup());
    assertEquals(300, s.disk().timeoutS());
    assertFalse(s.env().required());
    assertTrue(s.env().requireTmpfs());
    assertFalse(s.proxy().enabled());
    assertEquals("0.0.0.0", s.proxy().host());
    assertEquals(8080, s.proxy().port());
    assertEquals(1 << 20, s.proxy().maxRequestBytes());
    assertEquals(16 << 20, s.proxy().maxResponseBytes());
    assertEquals(3600, s.proxy().signatureTtlS());
    assertEquals(100_000, s.proxy().signatureMaxEntries());
    assertEquals(5000, s.proxy().signatureWaitMs());
    assertEquals(600, s.proxy().upstreamTimeoutS());
    assertEquals("teekms-v2", s.proxy().signedText());
    assertEquals(
        ReportLimits.DEFAULT,
        AgentRuntime.reportLimits(s.proxy()),
        "the @WithDefault values and ReportLimits.DEFAULT say the same");
  }

  @Test
  void valuesAreTrimmedAndABlankValueTakesTheDefault() {
    AgentSettings s =
        new AgentConfig(minimal("kms.port=  9443  ", "proxy.port=   ", "env.required= true"))
            .settings();
    assertEquals(9443, s.kms().port());
    assertEquals(8080, s.proxy().port());
    assertTrue(s.env().required());
  }

  @Test
  void typedValuesParse() {
    String m1 = "aa".repeat(32);
    String m2 = "0x" + "BB".repeat(32);
    AgentSettings s =
        new AgentConfig(
                minimal(
                    "kms.registered-measurements=" + m1 + ", " + m2 + ", ,",
                    "kms.registry.chain-id=31337",
                    "attestation.provider=simulator",
                    "attestation.simulator.seed=0x00112233",
                    "gpu.provider=simulator",
                    "gpu.simulator.count=2",
                    "gpu.simulator.seed=0x0102",
                    "proxy.enabled=true",
                    "proxy.upstream=http://127.0.0.1:8000"))
            .settings();
    assertEquals(
        Optional.of(List.of(Bytes.fromHex(m1), Bytes.fromHex(m2))),
        s.kms().registeredMeasurements());
    assertEquals(Optional.of(31337L), s.kms().registry().chainId());
    assertEquals(AgentSettings.TeeProvider.SIMULATOR, s.attestation().provider());
    assertEquals(Optional.of(Bytes.fromHex("00112233")), s.attestation().simulator().seed());
    assertEquals(AgentSettings.GpuProvider.SIMULATOR, s.gpu().provider());
    assertEquals(2, s.gpu().simulator().count());
    assertEquals(Optional.of(Bytes.fromHex("0102")), s.gpu().simulator().seed());
    assertTrue(s.proxy().enabled());
    assertEquals(Optional.of(URI.create("http://127.0.0.1:8000")), s.proxy().upstream());
  }

  @ParameterizedTest(name = "{0}={1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "kms.port|abc|kms.port must be an integer, got abc",
        "kms.retry.attempts|2.5|kms.retry.attempts must be an integer, got 2.5",
        "kms.registry.chain-id|one|kms.registry.chain-id must be an integer, got one",
        "env.required|yes|env.required must be true or false, got yes",
        // SmallRye's own boolean converter would read this as false and start without the proxy
        "proxy.enabled|on|proxy.enabled must be true or false, got on",
        "app.os-image-hash|abcd|app.os-image-hash must be 32 bytes, got 2",
        "app.id|0xzz|app.id is not valid hex",
        "attestation.simulator.mrtd|00|attestation.simulator.mrtd must be 48 bytes, got 1",
        "kms.registered-measurements|00|kms.registered-measurements must be 32 bytes, got 1",
        "attestation.provider|sgx|attestation.provider must be configfs-tsm or simulator",
        "gpu.provider|nvml|gpu.provider must be none, command or simulator",
      })
  void aBadValueIsOneLineThatNamesTheKey(String key, String value, String message) {
    assertEquals(message, error(minimal(key + "=" + value)));
  }

  @Test
  void aMissingRequiredKeyIsNamed() {
    Properties p = minimal();
    p.remove("kms.host");
    assertEquals("configuration key kms.host is required", error(p));
    p = minimal("kms.host=   ");
    assertEquals("configuration key kms.host is required", error(p));
  }

  @Test
  void unknownKeysAreRefusedAllAtOnce() {
    assertEquals(
        "unknown configuration keys: [kms.hots, proxy.upstream-url]",
        error(minimal("kms.hots=x", "proxy.upstream-url=http://127.0.0.1:8000")));
    // the indexed form of a list is not a key of the file
    assertEquals(
        "unknown configuration keys: [kms.registered-measurements[0]]",
        error(minimal("kms.registered-measurements[0]=" + "aa".repeat(32))));
  }

  @Test
  void conditionallyRequiredKeysAreCheckedWhereTheyApply() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> AgentConfig.required("proxy.upstream", Optional.empty()));
    assertEquals("configuration key proxy.upstream is required", e.getMessage());
    assertEquals("x", AgentConfig.required("proxy.upstream", Optional.of("x")));
  }

  @Test
  void secretFilesGiveTheirFirstLineAndRefuseAnEmptyOne() throws IOException {
    Path dir = Files.createTempDirectory("agent-config-test");
    Path token = Files.writeString(dir.resolve("token"), "  tok-123 \nsecond\n");
    Path empty = Files.writeString(dir.resolve("empty"), "\n");
    assertEquals(
        Optional.of("tok-123"),
        AgentConfig.secretFile("proxy.auth-token-file", Optional.of(token)));
    assertEquals(
        Optional.empty(), AgentConfig.secretFile("proxy.auth-token-file", Optional.empty()));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> AgentConfig.secretFile("proxy.auth-token-file", Optional.of(empty)));
    assertEquals("proxy.auth-token-file points to an empty file", e.getMessage());
  }

  @Test
  void theReadmeDocumentsExactlyTheMappedKeys() throws IOException {
    String readme = Files.readString(Path.of("README.md"));
    String section = readme.substring(readme.indexOf("## Configuration"));
    Set<String> documented = new TreeSet<>();
    Pattern key = Pattern.compile("`([a-z][a-z0-9-]*(?:\\.[a-z0-9-]+)+)`");
    boolean inTable = false;
    for (String line : section.split("\n")) {
      if (line.startsWith("|")) {
        inTable = true;
        Matcher m = key.matcher(line.split("\\|")[1]);
        while (m.find()) {
          documented.add(m.group(1));
        }
      } else if (inTable) {
        break;
      }
    }
    assertEquals(new TreeSet<>(AgentConfig.KEYS), documented);
    assertEquals(59, AgentConfig.KEYS.size(), AgentConfig.KEYS.toString());
  }
}
