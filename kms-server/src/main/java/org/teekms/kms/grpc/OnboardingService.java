package org.teekms.kms.grpc;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import javax.net.ssl.SSLSession;
import org.jboss.logging.Logger;
import org.teekms.kms.admission.AdmissionDenied;
import org.teekms.kms.admission.PeerAttestation;
import org.teekms.kms.onboarding.OnboardingController;
import org.teekms.kms.onboarding.RootGenerationRelease;
import org.teekms.proto.GetRootGenerationsRequest;
import org.teekms.proto.GetRootGenerationsResponse;
import org.teekms.proto.OnboardingGrpc;
import org.teekms.proto.PolicyBlock;
import org.teekms.proto.RootGenerationSecret;

/**
 * teekms.v1.Onboarding over mutual RA-TLS: decode, {@link OnboardingController}, encode, zero the
 * secrets. Non-blocking: the peer's identity (re-verified when stale) is read on the worker pool,
 * the release answers through its Uni.
 */
@GrpcService
public class OnboardingService extends OnboardingGrpc.OnboardingImplBase {

  private static final Logger LOG = Logger.getLogger(OnboardingService.class);

  private final OnboardingController onboarding;
  private final PeerAttestation attestation;

  public OnboardingService(OnboardingController onboarding, PeerAttestation attestation) {
    this.onboarding = onboarding;
    this.attestation = attestation;
  }

  @Override
  public void getRootGenerations(
      GetRootGenerationsRequest request, StreamObserver<GetRootGenerationsResponse> out) {
    SSLSession session = TlsSessionInterceptor.SESSION.get();
    Uni.createFrom()
        .item(() -> attestation.peer(session))
        .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
        .chain(peer -> onboarding.release(peer, request.getKmsId(), request.getNodeId()))
        .subscribe()
        .with(
            release -> respond(release, out),
            failure -> {
              if (failure instanceof AdmissionDenied d) {
                LOG.infof("onboarding denied: %s: %s", d.code(), d.detail());
                out.onError(GrpcErrors.denied(d));
              } else {
                LOG.errorf(failure, "onboarding failed");
                out.onError(GrpcErrors.internal("GetRootGenerations", failure));
              }
            });
  }

  private static void respond(
      OnboardingController.Release release, StreamObserver<GetRootGenerationsResponse> out) {
    try {
      GetRootGenerationsResponse.Builder b =
          GetRootGenerationsResponse.newBuilder()
              .setKmsId(release.kmsId())
              .setGrantId(release.grantId().toString())
              .setPolicyBlock(
                  PolicyBlock.newBuilder()
                      .setChainId(release.block().chainId())
                      .setNumber(release.block().number())
                      .setHash(ByteString.copyFrom(release.block().hash().toByteArray())));
      for (RootGenerationRelease r : release.generations()) {
        b.addGenerations(
            RootGenerationSecret.newBuilder()
                .setGeneration(r.generation())
                .setState(r.state().name())
                .setRootSecret(ByteString.copyFrom(r.secret()))
                .setCreatedAt(r.createdAt())
                .setDestroyAfter(r.destroyAfter()));
      }
      out.onNext(b.build());
      out.onCompleted();
    } finally {
      release.generations().forEach(RootGenerationRelease::destroy);
    }
  }
}
