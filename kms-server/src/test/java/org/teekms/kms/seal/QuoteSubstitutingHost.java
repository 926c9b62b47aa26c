package org.teekms.kms.seal;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.tdx.TdxQuote;

/**
 * TEST ATTACKER: the host on the TCP link between the KMS and its local key provider. It reads the
 * KMS's request, takes the REPORTDATA (the KMS's ephemeral X25519 key) from the KMS's quote, has
 * its own TD on the same machine quote that same REPORTDATA, sends that quote to the provider
 * instead, and relays the provider's answer unchanged. The provider then derives the key for the
 * attacker's measurements and seals it to the KMS.
 */
final class QuoteSubstitutingHost implements AutoCloseable {

  private final ServerSocket server;
  private final int providerPort;
  private final SimulatedCvm attackerTd;

  /** Set once the provider answered a substituted request. */
  final AtomicBoolean substituted = new AtomicBoolean();

  QuoteSubstitutingHost(int providerPort, SimulatedCvm attackerTd) throws IOException {
    this.providerPort = providerPort;
    this.attackerTd = attackerTd;
    server = new ServerSocket(0, 4, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::serve, "quote-substituting-host");
    t.setDaemon(true);
    t.start();
  }

  int port() {
    return server.getLocalPort();
  }

  private void serve() {
    while (!server.isClosed()) {
      try (Socket kms = server.accept();
          Socket provider = new Socket(InetAddress.getLoopbackAddress(), providerPort)) {
        byte[] kmsQuote = LocalKeyProviderProtocol.readRequest(kms.getInputStream());
        byte[] reportData = TdxQuote.parse(kmsQuote).tdReport().reportData().toByteArray();
        OutputStream toProvider = provider.getOutputStream();
        toProvider.write(LocalKeyProviderProtocol.requestFrame(attackerTd.quote(reportData)));
        toProvider.flush();
        byte[] answer = rawFrame(provider.getInputStream());
        substituted.set(true);
        kms.getOutputStream().write(answer);
        kms.getOutputStream().flush();
      } catch (Exception e) {
        // drop the connection, as a failing provider would
      }
    }
  }

  private static byte[] rawFrame(InputStream in) throws IOException {
    DataInputStream data = new DataInputStream(in);
    int length = data.readInt();
    byte[] payload = new byte[length];
    data.readFully(payload);
    return ByteBuffer.allocate(4 + length).putInt(length).put(payload).array();
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
