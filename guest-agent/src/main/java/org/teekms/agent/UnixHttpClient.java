package org.teekms.agent;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** A minimal HTTP/1.1 client over a unix socket (JDK 16+), for the {@code teekms-agent disk} commands. */
public final class UnixHttpClient {
  /** Status and body of a response. */
  public record Response(int status, String body) {}

  private UnixHttpClient() {}

  public static Response post(Path socket, String path, String json) throws IOException {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    String head = "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + "Content-Length: " + body.length + "\r\nConnection: close\r\n\r\n";
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      ch.write(ByteBuffer.wrap(head.getBytes(StandardCharsets.US_ASCII)));
      ch.write(ByteBuffer.wrap(body));
      ByteArrayOutputStream in = new ByteArrayOutputStream();
      ByteBuffer buf = ByteBuffer.allocate(8192);
      while (ch.read(buf) > 0 && in.size() < 1024 * 1024) {
        in.write(buf.array(), 0, buf.position());
        buf.clear();
      }
      String text = in.toString(StandardCharsets.UTF_8);
      int split = text.indexOf("\r\n\r\n");
      if (!text.startsWith("HTTP/1.1 ") || split < 0) {
        throw new IOException("malformed HTTP response from " + socket);
      }
      int status = Integer.parseInt(text.substring(9, 12));
      return new Response(status, text.substring(split + 4));
    }
  }
}
