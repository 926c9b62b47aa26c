package org.teekms.kms.onboarding;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import javax.net.ssl.SSLSession;
import org.teekms.kms.admission.AttestedPeer;
import org.teekms.kms.roots.RootState;
import org.teekms.proto.GetRootGenerationsRequest;
import org.teekms.proto.GetRootGenerationsResponse;
import org.teekms.proto.OnboardingGrpc;
import org.teekms.proto.RootGenerationSecret;

/**
 * The requester side of replica onboarding: over a mutual RA-TLS channel to a source KMS, asks for
 * the root generations, then, before anything is kept (the first failure is the reason):
 *
 * <ol>
 *   <li>the SOURCE is a registered KMS too ({@code isKmsAllowed} on the identity its RA-TLS
 *       certificate proved in this very handshake);
 *   <li>it says it serves this node's KMS id (the id it answers with is its own, not an echo of the
 *       request);
 *   <li>every generation is CURRENT or RETIRED with a 32-byte secret, and a RETIRED one is not past
 *       its destruction date;
 *   <li>every generation's KMS root public key, derived here from the received secret, equals the
 *       root public key the registry publishes for that generation ({@code
 *       kmsIdentity(generation).rootPublicKeys} at a pinned block): a source with foreign or
 *       made-up roots is refused, whatever it and the host claim. Not published yet or chain
 *       unreadable also refuses.
 * </ol>
 *
 * The caller imports the result with {@link RootImport} (which re-seals under this node's sealing
 * key) and destroys it.
 */
public final class OnboardingClient {

  /** Onboarding did not happen; the message says which check failed. Nothing was imported. */
  public static final class OnboardingRefused extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public OnboardingRefused(String message, Throwable cause) {
      super(message, cause);
    }
  }

  public record Joined(
      List<RootGenerationRelease> generations, String sourceGrantId, AttestedPeer source) {}

  private OnboardingClient() {}

  /**
   * @param sourceIdentity the RA-TLS identity of the server side of a session (throws when it is
   *     not attested)
   * @param policy the registry check the source must pass
   */
  public static Joined fetch(
      Channel channel,
      Function<SSLSession, AttestedPeer> sourceIdentity,
      KmsPolicyPort policy,
      PublishedRootsPort published,
      String kmsId,
      String nodeId,
      Duration deadline) {
    return fetch(
        channel,
        sourceIdentity,
        policy,
        published,
        kmsId,
        nodeId,
        deadline,
        java.time.Clock.systemUTC());
  }

  public static Joined fetch(
      Channel channel,
      Function<SSLSession, AttestedPeer> sourceIdentity,
      KmsPolicyPort policy,
      PublishedRootsPort published,
      String kmsId,
      String nodeId,
      Duration deadline,
      java.time.Clock clock) {
    AtomicReference<SSLSession> session = new AtomicReference<>();
    Channel capturing = ClientInterceptors.intercept(channel, new SessionCapture(session));
    GetRootGenerationsResponse response;
    try {
      response =
          OnboardingGrpc.newBlockingStub(capturing)
              .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
              .getRootGenerations(
                  GetRootGenerationsRequest.newBuilder().setKmsId(kmsId).setNodeId(nodeId).build());
    } catch (StatusRuntimeException e) {
      throw new OnboardingRefused(
          "the source refused or failed: "
              + e.getStatus().getCode()
              + ": "
              + e.getStatus().getDescription(),
          e);
    }
    if (session.get() == null) {
      throw new OnboardingRefused(
          "no TLS session with the source: onboarding needs mutual RA-TLS", null);
    }
    AttestedPeer source;
    try {
      source = sourceIdentity.apply(session.get());
    } catch (RuntimeException e) {
      throw new OnboardingRefused("the source is not attested: " + e.getMessage(), e);
    }
    KmsPolicyVerdict verdict = policy.checkKms(source);
    if (verdict.outcome() != KmsPolicyVerdict.Outcome.ALLOWED) {
      throw new OnboardingRefused(
          "the source is not an allowed KMS (" + verdict.outcome() + "): " + verdict.reason(),
          null);
    }
    if (!response.getKmsId().equals(kmsId)) {
      throw new OnboardingRefused(
          "the source serves KMS '" + response.getKmsId() + "', this node joins '" + kmsId + "'",
          null);
    }
    List<RootGenerationRelease> generations = new ArrayList<>();
    for (RootGenerationSecret g : response.getGenerationsList()) {
      RootState state;
      try {
        state = RootState.valueOf(g.getState());
      } catch (IllegalArgumentException e) {
        state = null;
      }
      if (state != RootState.CURRENT && state != RootState.RETIRED) {
        generations.forEach(RootGenerationRelease::destroy);
        throw new OnboardingRefused(
            "generation "
                + g.getGeneration()
                + " has state '"
                + g.getState()
                + "': only CURRENT and RETIRED generations are onboarded",
            null);
      }
      if (g.getGeneration() < 1 || g.getRootSecret().size() != 32) {
        generations.forEach(RootGenerationRelease::destroy);
        throw new OnboardingRefused(
            "generation " + g.getGeneration() + ": malformed (generation >= 1, 32-byte secret)",
            null);
      }
      if (state == RootState.RETIRED
          && g.getDestroyAfter() > 0
          && g.getDestroyAfter() <= clock.millis()) {
        generations.forEach(RootGenerationRelease::destroy);
        throw new OnboardingRefused(
            "the source released RETIRED generation "
                + g.getGeneration()
                + " past its destruction date ("
                + java.time.Instant.ofEpochMilli(g.getDestroyAfter())
                + ")",
            null);
      }
      byte[] secret = g.getRootSecret().toByteArray();
      try {
        String mismatch = PublishedRootCheck.check(published, g.getGeneration(), secret);
        if (mismatch != null) {
          generations.forEach(RootGenerationRelease::destroy);
          throw new OnboardingRefused(mismatch, null);
        }
        generations.add(
            new RootGenerationRelease(
                g.getGeneration(), state, secret, g.getCreatedAt(), g.getDestroyAfter()));
      } finally {
        java.util.Arrays.fill(secret, (byte) 0);
      }
    }
    return new Joined(List.copyOf(generations), response.getGrantId(), source);
  }

  /**
   * Records the TLS session of the call (the server's RA-TLS certificate was verified in its
   * handshake).
   */
  private record SessionCapture(AtomicReference<SSLSession> session) implements ClientInterceptor {
    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(
        MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
      return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
        @Override
        public void start(Listener<R> listener, Metadata headers) {
          ClientCall<Q, R> call = this;
          super.start(
              new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                @Override
                public void onHeaders(Metadata h) {
                  session.set(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
                  super.onHeaders(h);
                }
              },
              headers);
        }
      };
    }
  }
}
