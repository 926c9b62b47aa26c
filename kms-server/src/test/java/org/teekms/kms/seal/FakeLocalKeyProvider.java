package org.teekms.kms.seal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuoteVerificationResult;
import org.teekms.attest.tdx.TdReport;
import org.teekms.attest.tdx.TdxQuote;

/**
 * TEST FAKE of dstack's local key provider, speaking its wire protocol on a loopback port: verifies
 * the TD's quote with DCAP (simulated root), derives {@code SHA-256(sgxSealingKey ‖ MRTD ‖
 * RTMR0..3)}, seals it to the X25519 key in REPORTDATA[0..32] and answers with an SGX quote of its
 * simulated enclave binding SHA-256(encrypted_key) and, as tee-kms's v2 provider must, the TD quote
 * it derived for ({@link #bindQuote} false: dstack's unmodified provider, second half zero). The
 * response frame passes through {@link #tamper} so tests can truncate, mutate or replace it.
 */
final class FakeLocalKeyProvider implements AutoCloseable {

  final SimulatedTdx platform;
  final byte[] mrEnclave;
  private final byte[] sgxSealingKey = new byte[32];
  private final ServerSocket server;
  private final Thread thread;
  final AtomicReference<UnaryOperator<byte[]>> tamper =
      new AtomicReference<>(UnaryOperator.identity());

  /**
   * true: tee-kms v2 (REPORTDATA binds the TD quote); false: dstack's provider as released (zeros).
   */
  volatile boolean bindQuote = true;

  /** The last response frame sent (before tampering), for replay tests. */
  final AtomicReference<byte[]> lastFrame = new AtomicReference<>();

  FakeLocalKeyProvider(SimulatedTdx platform, byte[] mrEnclave, long seed) throws IOException {
    this.platform = platform;
    this.mrEnclave = mrEnclave.clone();
    new java.util.Random(seed).nextBytes(sgxSealingKey);
    server = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
    thread = new Thread(this::serve, "fake-local-key-provider");
    thread.setDaemon(true);
    thread.start();
  }

  int port() {
    return server.getLocalPort();
  }

  /** The key a TD with this quote's MRTD and RTMRs gets: what the test compares against. */
  byte[] expectedKey(TdReport td) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    sha.update(sgxSealingKey);
    sha.update(td.mrTd().toByteArray());
    for (int i = 0; i < 4; i++) {
      sha.update(td.rtmr(i).toByteArray());
    }
    return sha.digest();
  }

  private void serve() {
    while (!server.isClosed()) {
      try (Socket s = server.accept()) {
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        byte[] frame = respond(LocalKeyProviderProtocol.readRequest(in));
        lastFrame.set(frame);
        out.write(tamper.get().apply(frame));
        out.flush();
      } catch (Exception e) {
        // The real provider drops the connection on any failure; so does the fake.
      }
    }
  }

  /** The response frame the provider sends for {@code tdQuote}. */
  byte[] respond(byte[] tdQuote) throws Exception {
    TdxQuote parsed = TdxQuote.parse(tdQuote);
    QuoteVerificationResult verified =
        new DcapQuoteVerifier(platform.rootCertificate())
            .verify(parsed, platform.collateralSource(), platform.clock().instant());
    if (!verified.valid()) {
      throw new IllegalStateException("TD quote rejected: " + verified.error());
    }
    TdReport td = verified.td();
    byte[] recipient = td.reportData().toByteArray();
    byte[] pk = java.util.Arrays.copyOf(recipient, 32);
    byte[] encryptedKey =
        SodiumSealedBox.seal(
            expectedKey(td), pk, SodiumSealedBox.newRecipientKey(new SecureRandom()));
    byte[] reportData = LocalKeyProviderProtocol.providerReportData(encryptedKey, tdQuote);
    if (!bindQuote) {
      java.util.Arrays.fill(reportData, 32, 64, (byte) 0);
    }
    byte[] sgxQuote = platform.sgxQuote(mrEnclave, new byte[32], reportData);
    return LocalKeyProviderProtocol.responseFrame(
        new LocalKeyProviderProtocol.Response(encryptedKey, sgxQuote));
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
