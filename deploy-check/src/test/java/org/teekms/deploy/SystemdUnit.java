package org.teekms.deploy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A systemd unit file, parsed the way systemd reads it (systemd.syntax(7)): {@code [Section]}
 * headers, {@code Key=Value} assignments (a key may repeat), {@code #}/{@code ;} comments, a
 * trailing backslash continues the line. Strict: a line outside a section, a line without {@code
 * =}, an empty or malformed key, an unknown section for the unit type, and a directive that systemd
 * does not know in that section are errors.
 */
record SystemdUnit(String name, Map<String, Map<String, List<String>>> sections) {

  /**
   * Directives valid per section (systemd.unit(5), systemd.service(5), systemd.mount(5),
   * systemd.exec(5), systemd.kill(5)).
   */
  static final Map<String, Set<String>> DIRECTIVES =
      Map.of(
          "Unit",
              Set.of(
                  "Description",
                  "Documentation",
                  "Wants",
                  "Requires",
                  "Requisite",
                  "BindsTo",
                  "PartOf",
                  "Upholds",
                  "Conflicts",
                  "Before",
                  "After",
                  "OnFailure",
                  "OnSuccess",
                  "PropagatesReloadTo",
                  "ReloadPropagatedFrom",
                  "JoinsNamespaceOf",
                  "RequiresMountsFor",
                  "WantsMountsFor",
                  "OnFailureJobMode",
                  "IgnoreOnIsolate",
                  "StopWhenUnneeded",
                  "RefuseManualStart",
                  "RefuseManualStop",
                  "AllowIsolate",
                  "DefaultDependencies",
                  "CollectMode",
                  "FailureAction",
                  "SuccessAction",
                  "JobTimeoutSec",
                  "StartLimitIntervalSec",
                  "StartLimitBurst",
                  "StartLimitAction",
                  "RebootArgument",
                  "SourcePath",
                  "ConditionPathExists",
                  "ConditionPathIsDirectory",
                  "ConditionFileNotEmpty",
                  "ConditionVirtualization",
                  "ConditionKernelVersion",
                  "AssertPathExists"),
          "Service",
              Set.of(
                  "Type",
                  "ExitType",
                  "RemainAfterExit",
                  "GuessMainPID",
                  "PIDFile",
                  "BusName",
                  "ExecStart",
                  "ExecStartPre",
                  "ExecStartPost",
                  "ExecCondition",
                  "ExecReload",
                  "ExecStop",
                  "ExecStopPost",
                  "RestartSec",
                  "RestartSteps",
                  "RestartMaxDelaySec",
                  "TimeoutStartSec",
                  "TimeoutStopSec",
                  "TimeoutSec",
                  "RuntimeMaxSec",
                  "WatchdogSec",
                  "Restart",
                  "RestartMode",
                  "SuccessExitStatus",
                  "RestartPreventExitStatus",
                  "RestartForceExitStatus",
                  "RootDirectoryStartOnly",
                  "NonBlocking",
                  "NotifyAccess",
                  "Sockets",
                  "FileDescriptorStoreMax",
                  "OOMPolicy",
                  "KillMode",
                  "KillSignal",
                  "SendSIGKILL",
                  "FinalKillSignal",
                  "User",
                  "Group",
                  "DynamicUser",
                  "SupplementaryGroups",
                  "WorkingDirectory",
                  "RootDirectory",
                  "UMask",
                  "Environment",
                  "EnvironmentFile",
                  "PassEnvironment",
                  "StandardInput",
                  "StandardOutput",
                  "StandardError",
                  "SyslogIdentifier",
                  "NoNewPrivileges",
                  "PrivateTmp",
                  "PrivateDevices",
                  "PrivateNetwork",
                  "ProtectHome",
                  "ProtectSystem",
                  "ReadWritePaths",
                  "ReadOnlyPaths",
                  "InaccessiblePaths",
                  "ProtectKernelModules",
                  "ProtectKernelTunables",
                  "ProtectKernelLogs",
                  "ProtectControlGroups",
                  "ProtectClock",
                  "ProtectHostname",
                  "RestrictSUIDSGID",
                  "RestrictNamespaces",
                  "RestrictRealtime",
                  "LockPersonality",
                  "MemoryDenyWriteExecute",
                  "CapabilityBoundingSet",
                  "AmbientCapabilities",
                  "SystemCallFilter",
                  "SystemCallArchitectures",
                  "DeviceAllow",
                  "DevicePolicy",
                  "LimitCORE",
                  "LimitNOFILE",
                  "LimitMEMLOCK",
                  "RuntimeDirectory",
                  "RuntimeDirectoryMode",
                  "StateDirectory",
                  "StateDirectoryMode",
                  "LogsDirectory",
                  "ConfigurationDirectory",
                  "MemoryMax",
                  "CPUQuota",
                  "TasksMax",
                  "OOMScoreAdjust",
                  "Nice"),
          "Mount",
              Set.of(
                  "What",
                  "Where",
                  "Type",
                  "Options",
                  "SloppyOptions",
                  "LazyUnmount",
                  "ReadWriteOnly",
                  "ForceUnmount",
                  "DirectoryMode",
                  "TimeoutSec"),
          "Install",
              Set.of("Alias", "WantedBy", "RequiredBy", "UpheldBy", "Also", "DefaultInstance"));

  static SystemdUnit parse(String name, String text) {
    String type = name.substring(name.lastIndexOf('.') + 1);
    Set<String> allowedSections =
        switch (type) {
          case "service" -> Set.of("Unit", "Service", "Install");
          case "mount" -> Set.of("Unit", "Mount", "Install");
          case "target" -> Set.of("Unit", "Install");
          default -> throw new IllegalArgumentException(name + ": unsupported unit type ." + type);
        };
    Map<String, Map<String, List<String>>> sections = new LinkedHashMap<>();
    Map<String, List<String>> current = null;
    String section = null;
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      int lineNo = i + 1;
      String line = lines[i].strip();
      if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
        continue;
      }
      if (line.startsWith("[")) {
        if (!line.endsWith("]") || line.length() < 3) {
          throw new IllegalArgumentException(
              name + ":" + lineNo + ": malformed section header " + line);
        }
        section = line.substring(1, line.length() - 1);
        if (!allowedSections.contains(section)) {
          throw new IllegalArgumentException(
              name
                  + ":"
                  + lineNo
                  + ": section ["
                  + section
                  + "] is not valid in a ."
                  + type
                  + " unit");
        }
        if (sections.containsKey(section)) {
          throw new IllegalArgumentException(
              name + ":" + lineNo + ": section [" + section + "] appears twice");
        }
        current = new LinkedHashMap<>();
        sections.put(section, current);
        continue;
      }
      StringBuilder logical = new StringBuilder(line);
      while (logical.toString().endsWith("\\")) {
        logical.setLength(logical.length() - 1);
        if (++i >= lines.length) {
          throw new IllegalArgumentException(
              name + ":" + lineNo + ": continuation at the end of the file");
        }
        String next = lines[i].strip();
        if (!next.startsWith("#") && !next.startsWith(";")) {
          logical.append(' ').append(next);
        }
      }
      if (current == null) {
        throw new IllegalArgumentException(name + ":" + lineNo + ": assignment outside a section");
      }
      int eq = logical.indexOf("=");
      if (eq <= 0) {
        throw new IllegalArgumentException(
            name + ":" + lineNo + ": expected Key=Value, got " + line);
      }
      String key = logical.substring(0, eq).strip();
      if (!key.matches("[A-Za-z][A-Za-z0-9]*")) {
        throw new IllegalArgumentException(name + ":" + lineNo + ": malformed key '" + key + "'");
      }
      if (!DIRECTIVES.get(section).contains(key)) {
        throw new IllegalArgumentException(
            name + ":" + lineNo + ": unknown directive " + key + " in [" + section + "]");
      }
      current.computeIfAbsent(key, k -> new ArrayList<>()).add(logical.substring(eq + 1).strip());
    }
    if (!sections.containsKey("Unit")) {
      throw new IllegalArgumentException(name + ": no [Unit] section");
    }
    String body =
        switch (type) {
          case "service" -> "Service";
          case "mount" -> "Mount";
          default -> null;
        };
    if (body != null && !sections.containsKey(body)) {
      throw new IllegalArgumentException(name + ": no [" + body + "] section");
    }
    return new SystemdUnit(name, sections);
  }

  List<String> values(String section, String key) {
    return sections.getOrDefault(section, Map.of()).getOrDefault(key, List.of());
  }

  /** Unit names of a dependency directive (space-separated lists, possibly repeated). */
  List<String> units(String section, String key) {
    List<String> out = new ArrayList<>();
    for (String v : values(section, key)) {
      for (String u : v.split("\\s+")) {
        if (!u.isEmpty()) {
          out.add(u);
        }
      }
    }
    return out;
  }

  /**
   * systemd's path escaping for mount unit names: {@code /var/lib/app} → {@code var-lib-app.mount}.
   */
  static String mountUnitName(String where) {
    String trimmed = where.replaceAll("^/+|/+$", "");
    StringBuilder b = new StringBuilder();
    for (char c : trimmed.toCharArray()) {
      if (c == '/') {
        b.append('-');
      } else if (Character.isLetterOrDigit(c) || c == '_' || c == '.' && b.length() > 0) {
        b.append(c);
      } else {
        b.append(String.format("\\x%02x", (int) c));
      }
    }
    return b + ".mount";
  }
}
