package org.teekms.agent.disk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.teekms.agent.api.ApiException;
import org.teekms.agent.api.JsonApi;
import org.teekms.agent.keys.AgentKeys;
import org.teekms.keys.SecretBytes;

/**
 * The agent's admin API (root-only socket): {@code DiskOpen {device, name}} and {@code DiskFormat
 * {device, force}}. The agent runs cryptsetup itself, so the disk key never leaves its process
 * except on cryptsetup's stdin. Formatting refuses a device that already holds a LUKS header unless
 * {@code force} is true, and checks the header it wrote. Opening first checks the device's LUKS2
 * header ({@link Luks2HeaderCheck}: a host-planted header, e.g. with {@code cipher_null}, is
 * refused with HTTP 409 and the reason) and hands cryptsetup the checked bytes as a detached header
 * in a private temporary file, so a host that serves another header on a second read gains nothing.
 */
public final class DiskAdminApi implements JsonApi {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final AgentKeys keys;
  private final Cryptsetup cryptsetup;

  public DiskAdminApi(AgentKeys keys, Cryptsetup cryptsetup) {
    this.keys = keys;
    this.cryptsetup = cryptsetup;
  }

  @Override
  public ObjectNode handle(String method, JsonNode body) throws ApiException {
    if (body == null || !body.isObject() || !body.path("device").isTextual()) {
      throw new ApiException(400, "body must be {\"device\": \"/dev/…\", …}");
    }
    Path device = Path.of(body.get("device").asText());
    try (SecretBytes passphrase = keys.diskPassphrase()) {
      switch (method) {
        case "DiskOpen" -> open(device, body.path("name").asText("teekms-data"), passphrase);
        case "DiskFormat" -> {
          if (!body.path("force").asBoolean(false) && cryptsetup.isLuks(device)) {
            throw new ApiException(
                409, device + " already holds a LUKS header; refusing to format without force");
          }
          cryptsetup.format(device, passphrase);
          try {
            Luks2HeaderCheck.check(device);
          } catch (Luks2HeaderCheck.Refused r) {
            throw new ApiException(
                500,
                "cryptsetup wrote a LUKS2 header this agent would refuse to open: "
                    + r.getMessage());
          }
        }
        default -> throw new ApiException(404, "no such method: " + method);
      }
    } catch (IOException e) {
      throw new ApiException(500, e.getMessage());
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new ApiException(400, e.getMessage());
    }
    ObjectNode out = JSON.createObjectNode();
    out.put("ok", true);
    out.put("device", device.toString());
    out.put("key_version", keys.currentVersion());
    return out;
  }

  private void open(Path device, String name, SecretBytes passphrase)
      throws ApiException, IOException {
    Path header =
        Files.createTempFile(
            "teekms-luks-header",
            ".img",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try {
      try {
        Luks2HeaderCheck.checkAndCopy(device, header);
      } catch (Luks2HeaderCheck.Refused r) {
        throw new ApiException(
            409, "refusing to open " + device + ": LUKS2 header " + r.getMessage());
      }
      cryptsetup.open(device, header, name, passphrase);
    } finally {
      Files.deleteIfExists(header);
    }
  }
}
