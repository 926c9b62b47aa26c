package org.teekms.attest.gpu;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URI;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPReq;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.OCSPRespBuilder;
import org.bouncycastle.cert.ocsp.Req;
import org.bouncycastle.cert.ocsp.jcajce.JcaBasicOCSPRespBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

/**
 * A real OCSP responder for tests: JDK HttpServer on 127.0.0.1 answering with BouncyCastle-built
 * responses.
 */
public final class LocalOcspResponder implements AutoCloseable {
  /** Who signs the answer for a serial: the certificate to include and its key. */
  public record Signer(X509Certificate cert, KeyPair key) {}

  public final Map<BigInteger, CertificateStatus> statuses = new ConcurrentHashMap<>();
  public final AtomicInteger requests = new AtomicInteger();
  volatile Function<BigInteger, Signer> signerFor;
  volatile Instant thisUpdate;
  volatile Instant nextUpdate;
  volatile boolean echoNonce = true;
  volatile int responseStatus = OCSPRespBuilder.SUCCESSFUL;
  private final HttpServer server;

  public LocalOcspResponder(
      Function<BigInteger, Signer> signerFor, Instant thisUpdate, Instant nextUpdate)
      throws IOException {
    this(signerFor, thisUpdate, nextUpdate, 0);
  }

  /** On a chosen loopback port (0 = ephemeral). */
  public LocalOcspResponder(
      Function<BigInteger, Signer> signerFor, Instant thisUpdate, Instant nextUpdate, int port)
      throws IOException {
    this.signerFor = signerFor;
    this.thisUpdate = thisUpdate;
    this.nextUpdate = nextUpdate;
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
    server.createContext(
        "/",
        exchange -> {
          requests.incrementAndGet();
          byte[] body;
          try {
            body = answer(exchange.getRequestBody().readAllBytes());
          } catch (Exception e) {
            exchange.sendResponseHeaders(500, -1);
            exchange.close();
            return;
          }
          exchange.getResponseHeaders().add("Content-Type", "application/ocsp-response");
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    server.start();
  }

  public URI uri() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
  }

  private byte[] answer(byte[] der) throws Exception {
    if (responseStatus != OCSPRespBuilder.SUCCESSFUL) {
      return new OCSPRespBuilder().build(responseStatus, null).getEncoded();
    }
    OCSPReq req = new OCSPReq(der);
    Req first = req.getRequestList()[0];
    Signer signer = signerFor.apply(first.getCertID().getSerialNumber());
    JcaBasicOCSPRespBuilder builder =
        new JcaBasicOCSPRespBuilder(
            signer.cert().getPublicKey(),
            new JcaDigestCalculatorProviderBuilder().build().get(CertificateID.HASH_SHA1));
    for (Req r : req.getRequestList()) {
      CertificateID id = r.getCertID();
      builder.addResponse(
          id,
          statuses.getOrDefault(id.getSerialNumber(), CertificateStatus.GOOD),
          Date.from(thisUpdate),
          nextUpdate == null ? null : Date.from(nextUpdate),
          null);
    }
    Extension nonce = req.getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce);
    if (echoNonce && nonce != null) {
      builder.setResponseExtensions(new Extensions(nonce));
    }
    BasicOCSPResp basic =
        builder.build(
            new JcaContentSignerBuilder("SHA384withECDSA")
                .setProvider(CertChainValidator.BC)
                .build(signer.key().getPrivate()),
            new X509CertificateHolder[] {new JcaX509CertificateHolder(signer.cert())},
            Date.from(thisUpdate));
    OCSPResp resp = new OCSPRespBuilder().build(OCSPRespBuilder.SUCCESSFUL, basic);
    return resp.getEncoded();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
