package org.teekms.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * `systemd-analyze verify` (systemd's own loader: unknown keys, bad values, missing units and
 * commands, ordering cycles) on every unit in deploy/systemd, inside a temporary root that holds
 * this machine's stock systemd units, the set under /etc/systemd/system, and stand-ins for what the
 * CVM image brings but a build machine lacks (the agent, docker, cryptsetup binaries;
 * docker.service).
 */
class SystemdAnalyzeTest {
  /**
   * Units of the CVM image that a build machine need not have; replaced by a minimal service for
   * the check.
   */
  private static final List<String> IMAGE_UNITS = List.of("docker.service");

  @Test
  void everyUnitPassesSystemdAnalyzeVerify() throws Exception {
    Path analyze = Tools.require("systemd-analyze", "apt-get install systemd");
    Map<String, SystemdUnit> units = CvmDeployFilesTest.units();
    Tools.Result r =
        Tools.inTempDir(tmp -> verify(analyze, root(tmp, units, Map.of()), units.keySet()));
    assertEquals("", r.output().strip(), "systemd-analyze verify reported problems");
    assertEquals(0, r.exit(), r.output());
  }

  /**
   * The check is meaningful: the ordering cycle the units once had (a local mount behind a late
   * service) fails.
   */
  @Test
  void anOrderingCycleFailsTheCheck() throws Exception {
    Path analyze = Tools.require("systemd-analyze", "apt-get install systemd");
    Map<String, SystemdUnit> units = CvmDeployFilesTest.units();
    String mount = Repo.text("deploy/systemd/var-lib-app.mount");
    assertTrue(mount.contains("DefaultDependencies=no\n"), mount);
    Map<String, String> cyclic =
        Map.of("var-lib-app.mount", mount.replace("DefaultDependencies=no\n", ""));
    Tools.Result r =
        Tools.inTempDir(tmp -> verify(analyze, root(tmp, units, cyclic), units.keySet()));
    assertNotEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("ordering cycle"), r.output());
  }

  private static Tools.Result verify(Path analyze, Path root, Iterable<String> names)
      throws Exception {
    List<String> cmd = new ArrayList<>(List.of(analyze.toString(), "verify", "--root=" + root));
    for (String name : names) {
      cmd.add("/etc/systemd/system/" + name);
    }
    return Tools.run(root, cmd);
  }

  /**
   * A root with the host's stock units, the deploy units (some replaced) and stand-ins for the
   * image's pieces.
   */
  private static Path root(Path tmp, Map<String, SystemdUnit> units, Map<String, String> replaced)
      throws IOException {
    Path root = tmp.resolve("root");
    Path stock =
        Stream.of("/usr/lib/systemd/system", "/lib/systemd/system")
            .map(Path::of)
            .filter(Files::isDirectory)
            .findFirst()
            .orElseThrow(() -> new IllegalStateException("no systemd unit dir"));
    Path stockCopy = root.resolve("usr/lib/systemd/system");
    Files.createDirectories(stockCopy);
    try (Stream<Path> s = Files.list(stock)) {
      for (Path f : s.toList()) {
        if (Files.isSymbolicLink(f)) {
          Files.createSymbolicLink(stockCopy.resolve(f.getFileName()), Files.readSymbolicLink(f));
        } else if (Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
          Files.copy(f, stockCopy.resolve(f.getFileName()));
        }
      }
    }
    for (String dir : List.of("bin", "sbin", "lib")) {
      Files.createSymbolicLink(root.resolve(dir), Path.of("usr", dir));
    }
    Files.createDirectories(root.resolve("usr/bin"));
    Files.createDirectories(root.resolve("usr/sbin"));
    Path etc = Files.createDirectories(root.resolve("etc/systemd/system"));
    standIn(root, "/bin/sh");
    for (Map.Entry<String, SystemdUnit> e : units.entrySet()) {
      String text = replaced.getOrDefault(e.getKey(), Repo.text("deploy/systemd/" + e.getKey()));
      Files.writeString(etc.resolve(e.getKey()), text, StandardCharsets.UTF_8);
      for (String key :
          List.of("ExecStartPre", "ExecStart", "ExecStartPost", "ExecStop", "ExecStopPost")) {
        for (String line : e.getValue().values("Service", key)) {
          // The executable: the first word after systemd's prefixes (-, @, :, +, !).
          String exe = line.replaceFirst("^[-@:+!]+", "").trim().split("\\s+")[0];
          standIn(root, exe);
        }
      }
    }
    for (String unit : IMAGE_UNITS) {
      if (!Files.exists(stockCopy.resolve(unit), LinkOption.NOFOLLOW_LINKS)) {
        Files.writeString(
            etc.resolve(unit),
            "[Unit]\nDescription=stand-in for the CVM image's "
                + unit
                + "\n[Service]\nExecStart=/bin/sh\n",
            StandardCharsets.UTF_8);
      }
    }
    return root;
  }

  private static void standIn(Path root, String absolute) throws IOException {
    assertTrue(absolute.startsWith("/"), "systemd needs absolute command paths here: " + absolute);
    Path p = root.resolve(absolute.substring(1));
    Files.createDirectories(p.getParent());
    if (!Files.exists(p)) {
      Files.writeString(p, "#!/bin/sh\n", StandardCharsets.UTF_8);
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
  }
}
