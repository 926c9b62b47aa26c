package org.teekms.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.StringReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.teekms.agent.AgentConfig;
import org.teekms.agent.AgentMain;
import org.teekms.agent.AgentSettings;
import org.teekms.agent.boot.AppCompose;
import picocli.CommandLine;

/**
 * deploy/app-compose and deploy/systemd against the real guest agent (its parser, config and
 * command line).
 */
class CvmDeployFilesTest {
  private static final String UNITS = "deploy/systemd";

  /** Units the set relies on that come with the OS image. */
  private static final Set<String> SYSTEM_UNITS =
      Set.of(
          "network-online.target",
          "multi-user.target",
          "shutdown.target",
          "docker.service",
          "systemd-tmpfiles-setup.service",
          "local-fs.target",
          "umount.target");

  @Test
  void appComposeIsAcceptedByTheAgentAndEmbedsTheComposeFile() throws IOException {
    byte[] bytes = Files.readAllBytes(Repo.path("deploy/app-compose/app-compose.json"));
    AppCompose parsed = AppCompose.parse(bytes);
    assertEquals("kms", parsed.keyProvider());
    assertEquals(32, parsed.composeHash().length());
    JsonNode json = new ObjectMapper().readTree(bytes);
    assertEquals(2, json.path("manifest_version").asInt());
    // a complete dstack app-compose: every field dstack's AppCompose declares, none left to
    // dstack's defaults
    assertEquals(List.of(), parsed.missingDstackFields());
    assertTrue(
        json.path("kms_enabled").asBoolean()
            && json.path("public_tcbinfo").asBoolean()
            && json.path("secure_time").asBoolean()
            && !json.path("public_logs").asBoolean(),
        json.toString());
    assertEquals("docker-compose", json.path("runner").asText());
    String embedded = json.path("docker_compose_file").asText();
    assertEquals(
        Repo.text("deploy/app-compose/docker-compose.yaml"),
        embedded,
        "app-compose.json must embed deploy/app-compose/docker-compose.yaml verbatim");
    JsonNode vllm =
        Yaml.documents("docker_compose_file", embedded).get(0).path("services").path("vllm");
    assertTrue(vllm.path("image").asText().startsWith("vllm/"), "vllm service: " + vllm);
    // The model is reachable only through the signing proxy: published on loopback, where the proxy
    // points.
    List<String> ports = new ArrayList<>();
    vllm.path("ports").forEach(p -> ports.add(p.asText()));
    assertEquals(1, ports.size());
    assertTrue(
        ports.get(0).startsWith("127.0.0.1:"), "vLLM must publish on loopback only: " + ports);
    URI upstream = URI.create(agentProperties().getProperty("proxy.upstream"));
    assertEquals("127.0.0.1", upstream.getHost());
    assertEquals(ports.get(0).split(":")[1], Integer.toString(upstream.getPort()));
    // Encrypted env: the app reads exactly the file the agent writes, and only the names
    // allowed_envs lists.
    assertEquals(List.of("HF_TOKEN"), parsed.allowedEnvs());
    assertTrue(parsed.publicSysinfo());
    List<String> envFiles = new ArrayList<>();
    vllm.path("env_file").forEach(f -> envFiles.add(f.asText()));
    assertEquals(
        List.of(
            agentProperties().getProperty("env.output-dir")
                + "/"
                + org.teekms.agent.env.EnvFiles.SHELL_FILE),
        envFiles);
    assertEquals(
        "true",
        agentProperties().getProperty("env.require-tmpfs"),
        "the decrypted env stays in memory");
  }

  @Test
  void agentPropertiesUseOnlyRealKeys() throws IOException {
    Properties p = agentProperties();
    // refuses unknown keys, a missing required key and any value that does not convert
    AgentSettings settings = new AgentConfig(p).settings();
    assertTrue(settings.proxy().enabled());
    assertEquals(Path.of("/etc/teekms/app-compose.json"), settings.app().composeFile());
    Properties typo = agentProperties();
    typo.setProperty("proxy.upstream-url", "http://127.0.0.1:8000");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new AgentConfig(typo));
    assertEquals("unknown configuration keys: [proxy.upstream-url]", e.getMessage());
  }

  @Test
  void unitFilesParseAndReferenceExistingUnits() throws IOException {
    Map<String, SystemdUnit> units = units();
    assertEquals(
        Set.of(
            "teekms.target",
            "teekms-agent.service",
            "teekms-disk.service",
            "var-lib-app.mount",
            "teekms-app.service"),
        units.keySet());
    for (SystemdUnit unit : units.values()) {
      for (String section : List.of("Unit", "Install")) {
        for (String key :
            List.of(
                "Wants", "Requires", "After", "Before", "Conflicts", "WantedBy", "RequiredBy")) {
          for (String ref : unit.units(section, key)) {
            assertTrue(
                units.containsKey(ref) || SYSTEM_UNITS.contains(ref),
                unit.name()
                    + " "
                    + key
                    + "="
                    + ref
                    + ": no such unit in the set or the base image");
          }
        }
      }
    }
    SystemdUnit mount = units.get("var-lib-app.mount");
    assertEquals(
        "var-lib-app.mount", SystemdUnit.mountUnitName(mount.values("Mount", "Where").get(0)));
    assertEquals("/dev/mapper/teekms-data", mount.values("Mount", "What").get(0));
  }

  @Test
  void bootOrderIsAgentThenDiskThenMountThenApp() throws IOException {
    Map<String, SystemdUnit> units = units();
    assertTrue(
        units.get("teekms-disk.service").units("Unit", "After").contains("teekms-agent.service"));
    assertTrue(
        units
            .get("teekms-disk.service")
            .units("Unit", "Requires")
            .contains("teekms-agent.service"));
    assertTrue(
        units.get("var-lib-app.mount").units("Unit", "After").contains("teekms-disk.service"));
    SystemdUnit app = units.get("teekms-app.service");
    assertTrue(
        app.units("Unit", "After")
            .containsAll(List.of("teekms-agent.service", "var-lib-app.mount")));
    assertTrue(
        app.units("Unit", "Requires")
            .containsAll(List.of("teekms-agent.service", "var-lib-app.mount")));
    SystemdUnit agent = units.get("teekms-agent.service");
    assertEquals("on-failure", agent.values("Service", "Restart").get(0));
    // A denied boot (exit 3) must stay failed rather than loop against the KMS.
    assertEquals("3", agent.values("Service", "RestartPreventExitStatus").get(0));
    assertTrue(
        agent.units("Unit", "Before").contains("docker.service"),
        "RTMR3 must be measured before docker");
  }

  @Test
  void agentCommandLinesSocketsAndPathsMatchTheAgent() throws IOException {
    Map<String, SystemdUnit> units = units();
    Properties config = agentProperties();
    Pattern invocation =
        Pattern.compile("/usr/bin/teekms-agent((?:\\s+(?:\"[^\"]*\"|[^\\s;&|'\"]+))+)");
    int parsed = 0;
    for (SystemdUnit unit : units.values()) {
      for (String key : List.of("ExecStart", "ExecStartPre", "ExecStartPost")) {
        for (String line : unit.values("Service", key)) {
          Matcher m = invocation.matcher(line);
          while (m.find()) {
            List<String> args = new ArrayList<>();
            for (String a : m.group(1).trim().split("\\s+")) {
              args.add(a.replace("\"$TEEKMS_DATA_DEVICE\"", "/dev/vdb").replace("\"", ""));
            }
            // The real command line: unknown options, missing arguments, wrong actions fail here.
            CommandLine.ParseResult r =
                new CommandLine(new AgentMain()).parseArgs(args.toArray(String[]::new));
            assertTrue(r.hasSubcommand(), unit.name() + ": " + args);
            if (args.get(0).equals("run")) {
              assertEquals("/etc/teekms/agent.properties", args.get(args.indexOf("--config") + 1));
            }
            if (args.get(0).equals("disk")) {
              assertTrue(Set.of("open", "format").contains(args.get(1)), args.toString());
              // Without --admin-socket, `disk` talks to its default: it must be the socket the
              // agent serves.
              CommandLine.ParseResult disk = r.subcommand();
              String socket =
                  disk.matchedOptionValue(
                          "--admin-socket",
                          Path.of(disk.commandSpec().findOption("--admin-socket").defaultValue()))
                      .toString();
              assertEquals(
                  config.getProperty("admin.socket"), socket, unit.name() + ": admin socket");
            }
            parsed++;
          }
        }
      }
    }
    assertEquals(4, parsed, "teekms-agent run, and disk open/format/open");
    assertThrows(
        CommandLine.ParameterException.class,
        () ->
            new CommandLine(new AgentMain())
                .parseArgs("run", "--conf", "/etc/teekms/agent.properties"));

    // Readiness waits for the socket the agent really serves; the admin socket's directory is
    // created root-only.
    String readiness =
        String.join(" ", units.get("teekms-agent.service").values("Service", "ExecStartPost"));
    assertTrue(readiness.contains("-S " + config.getProperty("api.socket")), readiness);
    String admin = config.getProperty("admin.socket");
    String tmpfiles = Repo.text(UNITS + "/teekms.tmpfiles.conf");
    assertTrue(tmpfiles.contains("d " + Path.of(admin).getParent() + " 0700 root root"), tmpfiles);
    assertTrue(
        Repo.text(UNITS + "/teekms.sysusers.conf")
            .contains("g " + config.getProperty("api.socket-group")));
    // The app runs the compose file from the same app-compose.json the agent measured.
    String app =
        String.join(" ", units.get("teekms-app.service").values("Service", "ExecStartPre"));
    assertTrue(app.contains(config.getProperty("app.compose-file")), app);
  }

  static Map<String, SystemdUnit> units() throws IOException {
    Map<String, SystemdUnit> units = new LinkedHashMap<>();
    try (Stream<Path> s = Files.list(Repo.path(UNITS))) {
      for (Path f : s.sorted().toList()) {
        String name = f.getFileName().toString();
        if (name.endsWith(".service") || name.endsWith(".mount") || name.endsWith(".target")) {
          units.put(name, SystemdUnit.parse(name, Files.readString(f, StandardCharsets.UTF_8)));
        }
      }
    }
    return units;
  }

  private static Properties agentProperties() throws IOException {
    Properties p = new Properties();
    p.load(new StringReader(Repo.text(UNITS + "/agent.properties")));
    return p;
  }
}
