package org.teekms.verifier.service;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import javax.net.ssl.SSLException;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.crypto.NetworkErrors;
import org.teekms.proto.AuditEvent;
import org.teekms.proto.AuditorGrpc;
import org.teekms.proto.ListAuditEventsRequest;
import org.teekms.proto.ListAuditEventsResponse;

/**
 * A client of a KMS node's Auditor API (gRPC over TLS, no client certificate) whose RA-TLS server
 * certificate is verified in the handshake: DCAP under the given root with the given collateral,
 * the default quote policy, then the key bound to REPORTDATA and the event log replayed ({@link
 * RaTlsVerifier}). The one way {@code teekms audit …}, {@code teekms kms …} and the verifier
 * service's {@code GET /audit/events} reach a KMS.
 */
public final class KmsAuditor {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Page size of ListAuditEvents (the KMS serves at most this many per page). */
  public static final int PAGE = 1000;

  private KmsAuditor() {}

  /** A KMS node's address: {@code HOST:PORT}. */
  public record Address(String host, int port) {
    /**
     * @throws IllegalArgumentException (a one-line message naming the value) when {@code text} is
     *     not {@code HOST:PORT}
     */
    public static Address parse(String text) {
      int colon = text == null ? -1 : text.lastIndexOf(':');
      int port = -1;
      try {
        port = Integer.parseInt(text.substring(colon + 1));
      } catch (RuntimeException e) {
        // reported below
      }
      if (colon <= 0 || port < 1 || port > 65535) {
        throw new IllegalArgumentException("--kms must be HOST:PORT, got " + text);
      }
      return new Address(text.substring(0, colon), port);
    }

    @Override
    public String toString() {
      return host + ":" + port;
    }
  }

  /**
   * A channel to {@code kms} that completes a handshake only with a KMS whose RA-TLS certificate
   * verifies at {@code clock}'s time.
   */
  public static ManagedChannel open(
      Address kms,
      DcapQuoteVerifier dcap,
      CollateralSource collateral,
      Clock clock,
      ClientInterceptor... interceptors)
      throws SSLException {
    RaTlsTrustManager trust =
        new RaTlsTrustManager(
            RaTlsVerifier.builder(dcap, collateral)
                .quotePolicy(QuotePolicy.builder().build())
                .clock(clock)
                .build());
    // RA-TLS identifies the server by its attested certificate, not by a DNS name.
    return NettyChannelBuilder.forAddress(kms.host(), kms.port())
        .overrideAuthority("kms.teekms.invalid")
        .sslContext(
            GrpcSslContexts.configure(
                    SslContextBuilder.forClient()
                        .trustManager(RaTlsContexts.trustManagerFactory(trust)),
                    SslProvider.JDK)
                .build())
        .intercept(interceptors)
        .build();
  }

  /**
   * The events {@code request} selects, oldest first, at most {@code limit}, paging as the KMS
   * answers, each as {@code teekms audit events} prints it (the fields docs/audit-log.md hashes,
   * verbatim): {@code seq, eventId, time, eventTimeMillis, kind, appId, outcome, reason, detail,
   * prevHash (when the KMS sends one), entryHash}.
   *
   * @return the events, and whether the KMS had more than {@code limit}
   */
  public static Page events(
      AuditorGrpc.AuditorBlockingStub auditor, ListAuditEventsRequest.Builder request, int limit) {
    ArrayNode events = JSON.createArrayNode();
    HexFormat hex = HexFormat.of();
    long after = 0;
    request.setPageSize(Math.min(limit, PAGE));
    while (true) {
      ListAuditEventsResponse page = auditor.listAuditEvents(request.setAfterSeq(after).build());
      for (AuditEvent e : page.getEventsList()) {
        if (events.size() >= limit) {
          return new Page(events, true);
        }
        ObjectNode o = events.addObject();
        o.put("seq", e.getSeq());
        o.put("eventId", e.getEventId());
        o.put("time", Instant.ofEpochMilli(e.getTime()).toString());
        o.put("eventTimeMillis", e.getTime());
        o.put("kind", e.getKind());
        o.put(
            "appId",
            e.getAppId().isEmpty() ? "" : "0x" + hex.formatHex(e.getAppId().toByteArray()));
        o.put("outcome", e.getOutcome());
        o.put("reason", e.getReason());
        o.put("detail", e.getDetailJson());
        if (!e.getPrevHash().isEmpty()) {
          o.put("prevHash", hex.formatHex(e.getPrevHash().toByteArray()));
        }
        o.put("entryHash", hex.formatHex(e.getEntryHash().toByteArray()));
      }
      long next = page.getNextAfterSeq();
      // A KMS that pages backwards would make us loop: stop; the recomputation reports the gap.
      if (next == 0 || page.getEventsCount() == 0 || next <= after) {
        return new Page(events, false);
      }
      if (events.size() >= limit) {
        return new Page(events, true);
      }
      after = next;
    }
  }

  /** Events as served, and whether more were left on the KMS. */
  public record Page(ArrayNode events, boolean truncated) {}

  /**
   * A failed call in words ({@code timeoutSetting}: what sets the deadline, e.g. {@code --timeout},
   * or empty): an unreachable or untrusted KMS names {@code kms} and the cause (refused, unknown
   * host, RA-TLS verification), never Netty's internals; a KMS that answered keeps its status and
   * description.
   */
  public static String failure(
      String kms, String timeoutSetting, int timeoutSeconds, StatusRuntimeException e) {
    Status s = e.getStatus();
    if (s.getCode() == Status.Code.UNAVAILABLE || s.getCode() == Status.Code.DEADLINE_EXCEEDED) {
      for (Throwable c = e; c != null; c = c.getCause()) {
        if (c instanceof org.teekms.attest.ratls.RaTlsException r
            && r.reason()
                == org.teekms.attest.ratls.RaTlsException.Reason.CERTIFICATE_NOT_YET_VALID) {
          return "the KMS at "
              + kms
              + " presents a certificate that is not yet valid by this machine's clock: one of"
              + " the two clocks is wrong ("
              + r.detail()
              + "); `teekms kms status` shows the KMS's clock against the chain's";
        }
      }
      for (Throwable c = e; c != null; c = c.getCause()) {
        if (c instanceof SSLException) {
          return "the KMS at " + kms + " failed RA-TLS verification: " + c.getMessage();
        }
      }
      // a timeout is answered below with the deadline that ran out
      Optional<String> network =
          NetworkErrors.cause(e).filter(w -> !w.equals(NetworkErrors.TIMED_OUT));
      if (network.isPresent()) {
        return "cannot reach the KMS at " + kms + ": " + network.get();
      }
      if (s.getCode() == Status.Code.DEADLINE_EXCEEDED) {
        return "the KMS at "
            + kms
            + " did not answer within "
            + timeoutSeconds
            + " s"
            + (timeoutSetting.isEmpty() ? "" : " (" + timeoutSetting + ")");
      }
      return "cannot reach the KMS at "
          + kms
          + (s.getDescription() == null ? "" : ": " + s.getDescription());
    }
    return s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
  }
}
