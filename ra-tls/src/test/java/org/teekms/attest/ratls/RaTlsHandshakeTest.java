package org.teekms.attest.ratls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.teekms.attest.sim.SimulatedTdx;

/** Mutual RA-TLS over real sockets between two simulated CVMs. */
class RaTlsHandshakeTest {
  static final String SERVER_APP = "services:\n  kms: {image: teekms}\n";
  static final String CLIENT_APP = "services:\n  llm: {image: vllm}\n";

  record Outcome(
      RaTlsIdentity serverSawClient,
      RaTlsIdentity clientSawServer,
      String reply,
      boolean storedInServerSession,
      boolean storedInClientSession) {}

  static Outcome handshake(
      RaTlsCredentials server,
      RaTlsTrustManager serverTrust,
      RaTlsCredentials client,
      RaTlsTrustManager clientTrust)
      throws Exception {
    SSLContext serverCtx = RaTlsContexts.sslContext(new RaTlsKeyManager(server), serverTrust);
    SSLContext clientCtx = RaTlsContexts.sslContext(new RaTlsKeyManager(client), clientTrust);
    try (SSLServerSocket listener =
        (SSLServerSocket) serverCtx.getServerSocketFactory().createServerSocket(0)) {
      listener.setNeedClientAuth(true);
      java.util.concurrent.atomic.AtomicBoolean storedInServerSession =
          new java.util.concurrent.atomic.AtomicBoolean();
      CompletableFuture<RaTlsIdentity> serverSide =
          CompletableFuture.supplyAsync(
              () -> {
                try (SSLSocket s = (SSLSocket) listener.accept()) {
                  s.startHandshake();
                  storedInServerSession.set(
                      RaTlsTrustManager.fromSession(s.getSession()).isPresent());
                  RaTlsIdentity peer = serverTrust.peerIdentity(s.getSession());
                  BufferedReader in =
                      new BufferedReader(
                          new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                  String line = in.readLine();
                  PrintWriter out =
                      new PrintWriter(s.getOutputStream(), true, StandardCharsets.UTF_8);
                  out.println("hello " + peer.appId().hex() + " you said " + line);
                  return peer;
                } catch (Exception e) {
                  throw new java.util.concurrent.CompletionException(e);
                }
              });
      try (SSLSocket c =
          (SSLSocket)
              clientCtx.getSocketFactory().createSocket("127.0.0.1", listener.getLocalPort())) {
        c.startHandshake();
        boolean storedInClientSession = RaTlsTrustManager.fromSession(c.getSession()).isPresent();
        RaTlsIdentity serverIdentity = clientTrust.peerIdentity(c.getSession());
        PrintWriter out = new PrintWriter(c.getOutputStream(), true, StandardCharsets.UTF_8);
        out.println("ping");
        String reply =
            new BufferedReader(new InputStreamReader(c.getInputStream(), StandardCharsets.UTF_8))
                .readLine();
        return new Outcome(
            serverSide.get(30, TimeUnit.SECONDS),
            serverIdentity,
            reply,
            storedInServerSession.get(),
            storedInClientSession);
      } catch (Exception e) {
        try {
          serverSide.get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException serverFailure) {
          e.addSuppressed(serverFailure.getCause());
        }
        throw e;
      }
    }
  }

  @Test
  void mutualRaTlsSucceedsAndExposesBothPeersIdentities() throws Exception {
    RaTlsCredentials server = SimulatedRaTls.credentials(SERVER_APP);
    RaTlsCredentials client = SimulatedRaTls.credentials(CLIENT_APP);
    RaTlsTrustManager serverTrust = new RaTlsTrustManager(SimulatedRaTls.verifier().build());
    RaTlsTrustManager clientTrust = new RaTlsTrustManager(SimulatedRaTls.verifier().build());

    Outcome o = handshake(server, serverTrust, client, clientTrust);

    byte[] clientCompose = SimulatedTdxTestSupport.sha256(CLIENT_APP);
    byte[] serverCompose = SimulatedTdxTestSupport.sha256(SERVER_APP);
    assertEquals(
        java.util.HexFormat.of().formatHex(clientCompose), o.serverSawClient().composeHash().hex());
    assertEquals(
        java.util.HexFormat.of().formatHex(serverCompose), o.clientSawServer().composeHash().hex());
    assertEquals(
        o.serverSawClient().composeHash().hex().substring(0, 40),
        o.serverSawClient().appId().hex());
    assertEquals("hello " + o.serverSawClient().appId().hex() + " you said ping", o.reply());
    assertEquals("UpToDate", o.clientSawServer().tcbStatus().name());
    assertEquals(SimulatedTdx.FMSPC, o.clientSawServer().fmspc().hex());
    assertTrue(o.clientSawServer().keyProvider().orElseThrow().contains("\"kms\""));
    assertEquals(32, o.clientSawServer().mrAggregated().length());

    // The handshake stored each peer's identity in its SSLSession, and the verifier cached it by
    // fingerprint:
    // asking again returns the same instance without a second verification.
    assertTrue(o.storedInServerSession(), "server session carries the client identity");
    assertTrue(o.storedInClientSession(), "client session carries the server identity");
    assertSame(o.serverSawClient(), serverTrust.verifier().verify(client.certificate()));
  }

  @Test
  void handshakeFailsWithThePreciseReasonWhenThePeerIsRefused() throws Exception {
    RaTlsCredentials server = SimulatedRaTls.credentials(SERVER_APP);
    RaTlsCredentials client = SimulatedRaTls.credentials(CLIENT_APP);
    // The server only admits the server app itself; the client app is refused by policy.
    RaTlsTrustManager serverTrust =
        new RaTlsTrustManager(
            SimulatedRaTls.verifier()
                .policy(
                    id ->
                        id.composeHash()
                                .hex()
                                .equals(
                                    java.util.HexFormat.of()
                                        .formatHex(SimulatedTdxTestSupport.sha256(SERVER_APP)))
                            ? Optional.empty()
                            : Optional.of(
                                "compose hash " + id.composeHash().hex() + " not allowed"))
                .build());
    RaTlsTrustManager clientTrust = new RaTlsTrustManager(SimulatedRaTls.verifier().build());

    Exception e =
        assertThrows(Exception.class, () -> handshake(server, serverTrust, client, clientTrust));
    RaTlsException reason = findCause(e);
    assertNotNull(reason, () -> "no RaTlsException in " + e);
    assertEquals(RaTlsException.Reason.POLICY_REJECTED, reason.reason());
    assertTrue(reason.getMessage().contains("not allowed"), reason.getMessage());
  }

  @Test
  void deferringServerCompletesTheHandshakeButNeverYieldsTheRejectedClientsIdentity()
      throws Exception {
    RaTlsCredentials server = SimulatedRaTls.credentials(SERVER_APP);
    RaTlsCredentials client = SimulatedRaTls.credentials(CLIENT_APP);
    RaTlsTrustManager serverTrust =
        RaTlsTrustManager.deferringClientRejections(
            SimulatedRaTls.verifier()
                .policy(
                    id -> Optional.of("compose hash " + id.composeHash().hex() + " not allowed"))
                .build());
    RaTlsTrustManager clientTrust = new RaTlsTrustManager(SimulatedRaTls.verifier().build());

    // The TLS handshake succeeds; the server's peerIdentity (inside handshake()) throws the stored
    // rejection.
    Exception e =
        assertThrows(Exception.class, () -> handshake(server, serverTrust, client, clientTrust));
    assertFalse(
        unwrapToSsl(e) instanceof SSLHandshakeException,
        () -> "the handshake itself must complete: " + e);
    RaTlsException reason = findCause(e);
    assertNotNull(reason, () -> "no RaTlsException in " + e);
    assertEquals(RaTlsException.Reason.POLICY_REJECTED, reason.reason());
    assertTrue(
        reason
            .getMessage()
            .startsWith("POLICY_REJECTED: client certificate rejected in the handshake: "),
        reason.getMessage());
    assertTrue(reason.getMessage().contains("not allowed"), reason.getMessage());
  }

  @Test
  void plainSelfSignedPeerIsRejected() throws Exception {
    RaTlsCredentials server = SimulatedRaTls.credentials(SERVER_APP);
    RaTlsCredentials client = SimulatedRaTls.credentials(CLIENT_APP);
    // A certificate without a quote: what an attacker without a TD can present.
    var keys = RaTlsCertificateFactory.newKeyPair();
    var plain =
        new RaTlsCredentials(
            keys.getPrivate(),
            new RaTlsCertificateFactory(
                    rd -> new byte[0],
                    emptyLog(),
                    null,
                    SimulatedRaTls.CLOCK,
                    java.time.Duration.ofHours(1))
                .build(keys, "x", new byte[] {1}, "[]".getBytes(), null));
    RaTlsTrustManager serverTrust = new RaTlsTrustManager(SimulatedRaTls.verifier().build());
    Exception e =
        assertThrows(
            Exception.class,
            () ->
                handshake(
                    server,
                    serverTrust,
                    plain,
                    new RaTlsTrustManager(SimulatedRaTls.verifier().build())));
    assertInstanceOf(SSLHandshakeException.class, unwrapToSsl(e), e.toString());
    RaTlsException reason = findCause(e);
    assertNotNull(reason, () -> "no RaTlsException in " + e);
    assertEquals(RaTlsException.Reason.QUOTE_INVALID, reason.reason());
  }

  static org.teekms.attest.provider.RuntimeEventLog emptyLog() {
    return new org.teekms.attest.provider.RuntimeEventLog((i, d) -> {}, java.util.List.of());
  }

  static Throwable unwrapToSsl(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SSLHandshakeException) {
        return t;
      }
      for (Throwable s : t.getSuppressed()) {
        Throwable found = unwrapToSsl(s);
        if (found != null) {
          return found;
        }
      }
    }
    return null;
  }

  static RaTlsException findCause(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof RaTlsException r) {
        return r;
      }
      for (Throwable s : t.getSuppressed()) {
        RaTlsException found = findCause(s);
        if (found != null) {
          return found;
        }
      }
    }
    return null;
  }
}
