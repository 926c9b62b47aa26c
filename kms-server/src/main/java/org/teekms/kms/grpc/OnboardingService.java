package org.teekms.kms.grpc;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
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

/** teekms.v1.Onboarding over mutual RA-TLS: decode, {@link OnboardingController}, encode, zero the secrets. */
@GrpcService
@Blocking
public class OnboardingService extends OnboardingGrpc.OnboardingImplBase {

  private static final Logger LOG = Logger.getLogger(OnboardingService.class);

  private final OnboardingController onboarding;
  private final PeerAttestation attestation;

  public OnboardingService(OnboardingController onboarding, PeerAttestation attestation) {
    this.onboarding = onboarding;
    this.attestation = attestation;
  }

  @Override
  public void getRootGenerations(GetRootGenerationsRequest request, StreamObserver<GetRootGenerationsResponse> out) {
    OnboardingController.Release release;
    try {
      release = onboarding.release(attestation.peer(TlsSessionInterceptor.SESSION.get()), request.getKmsId(),
          request.getNodeId());
    } catch (AdmissionDenied d) {
      LOG.infof("onboarding denied: %s: %s", d.code(), d.detail());
      out.onError(GrpcErrors.denied(d));
      return;
    } catch (RuntimeException e) {
      LOG.errorf(e, "onboarding failed");
      out.onError(GrpcErrors.internal("GetRootGenerations", e));
      return;
    }
    try {
      GetRootGenerationsResponse.Builder b = GetRootGenerationsResponse.newBuilder().setKmsId(release.kmsId())
          .setGrantId(release.grantId().toString())
          .setPolicyBlock(PolicyBlock.newBuilder().setChainId(release.block().chainId()).setNumber(release.block().number())
              .setHash(ByteString.copyFrom(release.block().hash().toByteArray())));
      for (RootGenerationRelease r : release.generations()) {
        b.addGenerations(RootGenerationSecret.newBuilder().setGeneration(r.generation()).setState(r.state().name())
            .setRootSecret(ByteString.copyFrom(r.secret())).setCreatedAt(r.createdAt()).setDestroyAfter(r.destroyAfter()));
      }
      out.onNext(b.build());
      out.onCompleted();
    } finally {
      release.generations().forEach(RootGenerationRelease::destroy);
    }
  }
}
