package org.teekms.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SystemdUnitTest {
  private static final String GOOD =
      """
      # comment
      [Unit]
      Description=x
      After=a.service b.service
      After=c.target

      [Service]
      ExecStart=/bin/sh -c 'echo one; \\
        echo two'
      Restart=on-failure
      """;

  @Test
  void parsesSectionsRepeatsAndContinuations() {
    SystemdUnit u = SystemdUnit.parse("x.service", GOOD);
    assertEquals(List.of("a.service", "b.service", "c.target"), u.units("Unit", "After"));
    assertEquals(List.of("/bin/sh -c 'echo one;  echo two'"), u.values("Service", "ExecStart"));
  }

  @Test
  void rejectsMalformedUnits() {
    for (String bad :
        List.of(
            "Description=x\n[Unit]\n", // outside a section
            "[Unit]\nDescription\n", // no '='
            "[Unit]\n=x\n", // empty key
            "[Unit]\nDescripton=x\n", // unknown directive (typo)
            "[Unit]\n[Mount]\nWhat=x\n", // [Mount] in a .service
            "[Unit]\nDescription=x\n[Unit]\n", // duplicate section
            "[Unit\n", // malformed header
            "[Unit]\nExecStart=/bin/true\n", // directive in the wrong section
            "[Unit]\nDescription=x \\", // continuation at EOF
            "[Unit]\nDescription=x\n")) { // a .service without [Service]
      assertThrows(IllegalArgumentException.class, () -> SystemdUnit.parse("x.service", bad), bad);
    }
  }

  @Test
  void mountUnitNamesFollowSystemdEscaping() {
    assertEquals("var-lib-app.mount", SystemdUnit.mountUnitName("/var/lib/app"));
    assertEquals(
        "var-lib-teekms\\x2ddata.mount", SystemdUnit.mountUnitName("/var/lib/teekms-data"));
  }

  @Test
  void seededMutationsEitherParseOrFailWithAReason() {
    Random random = new Random(20261124);
    byte[] base = GOOD.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    for (int i = 0; i < 5000; i++) {
      byte[] b = base.clone();
      int edits = 1 + random.nextInt(4);
      for (int e = 0; e < edits; e++) {
        b[random.nextInt(b.length)] = (byte) "[]=\\\n#;ab ".charAt(random.nextInt(10));
      }
      String text = new String(b, java.nio.charset.StandardCharsets.UTF_8);
      try {
        SystemdUnit.parse("x.service", text);
      } catch (IllegalArgumentException expected) {
        // a precise reason; anything else (index errors, NPE) fails the test
      }
      String truncated = text.substring(0, random.nextInt(text.length()));
      try {
        SystemdUnit.parse("x.service", truncated);
      } catch (IllegalArgumentException expected) {
        // as above
      }
    }
  }
}
