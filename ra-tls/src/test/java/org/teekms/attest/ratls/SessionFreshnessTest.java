package org.teekms.attest.ratls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.teekms.attest.HandClock;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.collateral.CollateralException;

/**
 * A connection's identity is not trusted forever: HTTP/2 carries any number of calls over one TLS
 * session, so each call asks {@link RaTlsTrustManager#peerIdentity} again. Past the client
 * certificate's notAfter the next call on the open connection is refused ("re-connect"); past the
 * verification's cache limit the certificate is verified again (and refused when that fails now).
 * The server's clock is moved by hand; the connection stays the same one.
 */
class SessionFreshnessTest {
  private static final String CLIENT_APP = "services:\n  agent: {}\n";

  private final HandClock clock = new HandClock(Instant.now());
  private final AtomicBoolean collateralDown = new AtomicBoolean();
  private final AtomicInteger fullVerifications = new AtomicInteger();
  private Server server;
  private ManagedChannel channel;

  /**
   * The server's verifier: simulated root, production quote policy, 10 min cache, the hand clock.
   */
  private RaTlsTrustManager serverTrust() {
    return new RaTlsTrustManager(
        RaTlsVerifier.builder(
                new DcapQuoteVerifier(SimulatedRaTls.TDX.rootCertificate()),
                request -> {
                  if (collateralDown.get()) {
                    throw new CollateralException(
                        "GET https://pccs.invalid/tdx/certification/v4/tcb: connection refused");
                  }
                  return SimulatedRaTls.COLLATERAL;
                })
            .quotePolicy(QuotePolicy.builder().build())
            .clock(clock)
            .cache(Duration.ofMinutes(10), 100)
            .listener(
                (took, cacheHit, failure) -> {
                  if (!cacheHit && failure.isEmpty()) {
                    fullVerifications.incrementAndGet();
                  }
                })
            .build());
  }

  /**
   * A client CVM's credentials issued now (by the hand clock), valid for {@code validity} in all.
   */
  private RaTlsCredentials clientCredentials(Duration validity) throws Exception {
    org.teekms.attest.sim.SimulatedCvm cvm = SimulatedRaTls.cvm(CLIENT_APP, false);
    return new RaTlsCertificateFactory(cvm, cvm.eventLog(), null, clock, validity).create("agent");
  }

  private void connect(RaTlsCredentials client) throws Exception {
    server =
        RaTlsGrpcNettyTest.server(
            SimulatedRaTls.credentials("services:\n  kms: {}\n"), serverTrust());
    channel =
        RaTlsGrpcNettyTest.channel(
            server, client, new RaTlsTrustManager(SimulatedRaTls.verifier().build()));
  }

  private String call() {
    return ClientCalls.blockingUnaryCall(
        channel,
        RaTlsGrpcNettyTest.WHO_AM_I,
        CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS),
        "hi");
  }

  @AfterEach
  void close() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aConnectionKeptOpenPastItsCertificatesNotAfterIsRefusedOnItsNextCall() throws Exception {
    RaTlsCredentials client = clientCredentials(Duration.ofHours(2));
    connect(client);
    assertTrue(call().startsWith("hi from app "));
    assertEquals(1, fullVerifications.get(), "verified once, in the handshake");

    clock.advance(Duration.ofMinutes(100)); // notAfter = start + 1 h 55 min
    assertTrue(
        call().startsWith("hi from app "),
        "still valid: re-verified after the cache limit, same connection");
    assertEquals(2, fullVerifications.get());

    clock.advance(Duration.ofMinutes(20)); // past notAfter
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, this::call);
    assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
    assertTrue(
        e.getStatus().getDescription().contains("CERTIFICATE_EXPIRED"),
        e.getStatus().getDescription());
    assertTrue(
        e.getStatus().getDescription().contains("re-connect with a fresh RA-TLS certificate"),
        e.getStatus().getDescription());
    assertEquals(
        2,
        fullVerifications.get(),
        "no handshake happened: the refused call came over the old connection");
  }

  @Test
  void pastTheCacheLimitTheCertificateIsVerifiedAgainAndAFailureRefusesTheCall() throws Exception {
    RaTlsCredentials client = clientCredentials(Duration.ofHours(24));
    connect(client);
    call();
    collateralDown.set(true);
    clock.advance(Duration.ofMinutes(9));
    call(); // within the cache limit: the handshake's identity
    assertEquals(1, fullVerifications.get());

    clock.advance(
        Duration.ofMinutes(
            2)); // 11 min: must be verified again, and the collateral is unavailable now
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, this::call);
    assertTrue(
        e.getStatus().getDescription().contains("COLLATERAL_UNAVAILABLE"),
        e.getStatus().getDescription());

    collateralDown.set(false);
    call();
    assertEquals(2, fullVerifications.get());
  }

  @Test
  void aVerifierCappedAtOneHourRefusesALongerLivedCertificate() throws Exception {
    RaTlsCredentials client = clientCredentials(Duration.ofHours(2));
    RaTlsVerifier capped =
        SimulatedRaTls.verifier().clock(clock).maxCertificateLifetime(Duration.ofHours(1)).build();
    RaTlsException e =
        assertThrows(RaTlsException.class, () -> capped.verify(client.certificate()));
    assertEquals(RaTlsException.Reason.CERTIFICATE_LIFETIME_EXCEEDED, e.reason());
    assertTrue(e.detail().contains("(PT2H), longer than the PT1H cap"), e.detail());
    assertEquals(
        Optional.empty(),
        capped.cached(
            org.teekms.crypto.Bytes.copyOf(
                RaTlsVerifier.sha("SHA-256", client.certificate().getEncoded()))));
  }
}
