package org.teekms.attest.tdx.collateral;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A local HTTP server speaking the PCCS v4 API (as Intel's PCCS does: root CA CRL as hex) for one
 * collateral set. Test helper: starts on an ephemeral loopback port; counts requests per path.
 */
public final class FakePcsServer implements AutoCloseable {
  private final HttpServer server;
  private final Collateral collateral;
  private final String fmspc;
  public final AtomicInteger requests = new AtomicInteger();
  public final Map<String, Integer> byPath = new ConcurrentHashMap<>();

  public FakePcsServer(Collateral collateral, String tee, String fmspc) throws IOException {
    this.collateral = collateral;
    this.fmspc = fmspc;
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/" + tee + "/certification/v4/tcb",
        ex -> {
          if (!("fmspc=" + fmspc).equalsIgnoreCase(ex.getRequestURI().getQuery())) {
            send(ex, 404, new byte[0], Map.of());
            return;
          }
          send(
              ex,
              200,
              collateral.tcbInfo().toPcsBody("tcbInfo"),
              Map.of("TCB-Info-Issuer-Chain", encode(collateral.tcbInfoIssuerChain())));
        });
    server.createContext(
        "/" + tee + "/certification/v4/qe/identity",
        ex ->
            send(
                ex,
                200,
                collateral.qeIdentity().toPcsBody("enclaveIdentity"),
                Map.of(
                    "SGX-Enclave-Identity-Issuer-Chain",
                    encode(collateral.qeIdentityIssuerChain()))));
    server.createContext(
        "/sgx/certification/v4/pckcrl",
        ex ->
            send(
                ex,
                200,
                collateral.pckCrl().toByteArray(),
                Map.of("SGX-PCK-CRL-Issuer-Chain", encode(collateral.pckCrlIssuerChain()))));
    server.createContext(
        "/sgx/certification/v4/rootcacrl",
        ex ->
            send(
                ex,
                200,
                collateral.rootCaCrl().hex().getBytes(StandardCharsets.US_ASCII),
                Map.of()));
    server.start();
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  private static String encode(List<java.security.cert.X509Certificate> chain) {
    // Intel PCS percent-encodes the PEM (spaces as %20, '+' as %2B)
    return URLEncoder.encode(CollateralDirectory.pem(chain), StandardCharsets.UTF_8)
        .replace("+", "%20");
  }

  private void send(HttpExchange ex, int status, byte[] body, Map<String, String> headers)
      throws IOException {
    requests.incrementAndGet();
    byPath.merge(ex.getRequestURI().getPath(), 1, Integer::sum);
    headers.forEach((k, v) -> ex.getResponseHeaders().add(k, v));
    ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    }
    ex.close();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
