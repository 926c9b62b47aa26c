package org.teekms.kms.grpc;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import javax.net.ssl.SSLSession;
import org.jboss.logging.Logger;
import org.jboss.logging.MDC;
import org.teekms.keys.AppRootCertificate;
import org.teekms.keys.PurposeKeyCertificate;
import org.teekms.kms.adapters.ClaimedApp;
import org.teekms.kms.admission.AdmissionController;
import org.teekms.kms.admission.AdmissionDenied;
import org.teekms.kms.admission.AdmissionObserver;
import org.teekms.kms.admission.AppKeysGrant;
import org.teekms.kms.admission.AttestedPeer;
import org.teekms.kms.admission.ClaimedRefusals;
import org.teekms.kms.admission.PeerAttestation;
import org.teekms.kms.keys.ReleasedAppKeys;
import org.teekms.proto.AppKeys;
import org.teekms.proto.GetAppKeysRequest;
import org.teekms.proto.GetAppKeysResponse;
import org.teekms.proto.KmsGrpc;
import org.teekms.proto.PolicyBlock;
import org.teekms.proto.SignCertRequest;
import org.teekms.proto.SignCertResponse;

/**
 * teekms.v1.Kms over mutual RA-TLS: decode, call {@link AdmissionController}, encode. Non-blocking:
 * the call returns on its event loop at once and answers when the admission's Uni completes; the
 * CPU-heavy parts (re-verifying a stale peer identity, derivation, issuance) run on the worker
 * pool, database steps are reactive.
 */
@GrpcService
public class KmsService extends KmsGrpc.KmsImplBase {

  private static final Logger LOG = Logger.getLogger(KmsService.class);

  private final AdmissionController admission;
  private final PeerAttestation attestation;
  private final AdmissionObserver observer;
  private final ClaimedRefusals claimed;

  public KmsService(
      AdmissionController admission,
      PeerAttestation attestation,
      AdmissionObserver observer,
      ClaimedRefusals claimed) {
    this.admission = admission;
    this.attestation = attestation;
    this.observer = observer;
    this.claimed = claimed;
  }

  /**
   * The verified client (on a worker: a stale identity is verified again), or a refusal: counted in
   * the metrics and audited under the app the certificate claims, per-source bounded ({@link
   * ClaimedRefusals}; there is no verified app to file it under). The TLS session is read here, on
   * the calling thread, where the gRPC context holds it.
   *
   * @param kind the audit kind of this call's refusals ({@code DENY_APP_KEYS}, {@code
   *     DENY_SIGN_CERT})
   */
  private Uni<AttestedPeer> attestedPeer(String kind) {
    SSLSession session = TlsSessionInterceptor.SESSION.get();
    String source = AppEnvService.source(TlsSessionInterceptor.REMOTE.get());
    long start = System.nanoTime();
    return Uni.createFrom()
        .item(() -> attestation.peer(session))
        .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
        .onFailure(AdmissionDenied.class)
        .invoke(
            d ->
                observer.denied(
                    ((AdmissionDenied) d).code(),
                    java.time.Duration.ofNanos(System.nanoTime() - start)))
        .onFailure(AdmissionDenied.class)
        .call(d -> claimed.record(kind, source, () -> ClaimedApp.of(session), (AdmissionDenied) d));
  }

  @Override
  public void getAppKeys(GetAppKeysRequest request, StreamObserver<GetAppKeysResponse> out) {
    // The client_nonce is checked (REQUEST_INVALID) and audited by admission, with the rest of the
    // request.
    attestedPeer("DENY_APP_KEYS")
        .chain(
            peer ->
                admission.grantAppKeys(
                    peer, request.getKeyVersionsList(), request.getClientNonce().toByteArray()))
        .subscribe()
        .with(
            grant -> respond(grant, out),
            failure -> {
              if (failure instanceof AdmissionDenied d) {
                logDecision(
                    "GetAppKeys",
                    null,
                    null,
                    d,
                    () -> LOG.infof("GetAppKeys denied: %s: %s", d.code(), d.detail()));
                out.onError(GrpcErrors.denied(d));
              } else {
                LOG.errorf(failure, "GetAppKeys failed");
                out.onError(GrpcErrors.internal("GetAppKeys", failure));
              }
            });
  }

  private void respond(AppKeysGrant grant, StreamObserver<GetAppKeysResponse> out) {
    try {
      GetAppKeysResponse.Builder response =
          GetAppKeysResponse.newBuilder()
              .setAppId(ByteString.copyFrom(grant.appId().toBytes()))
              .setInstanceId(ByteString.copyFrom(grant.instanceId().toByteArray()))
              .setCurrentVersion(grant.currentVersion())
              .setMinVersion(grant.minVersion())
              .setPolicyBlock(
                  PolicyBlock.newBuilder()
                      .setChainId(grant.policyBlock().chainId())
                      .setNumber(grant.policyBlock().number())
                      .setHash(ByteString.copyFrom(grant.policyBlock().hash().toByteArray())))
              .setGrantId(grant.grantId().toString());
      for (ReleasedAppKeys k : grant.keys()) {
        response.addKeys(encode(k));
      }
      String app = "0x" + grant.appId().toHex();
      logDecision(
          "GetAppKeys",
          app,
          grant.grantId().toString(),
          null,
          () ->
              LOG.infof(
                  "GetAppKeys granted: app %s versions %s grant %s",
                  app,
                  grant.keys().stream().map(ReleasedAppKeys::version).toList(),
                  grant.grantId()));
      out.onNext(response.build());
      out.onCompleted();
    } catch (RuntimeException e) {
      LOG.errorf(e, "GetAppKeys failed");
      out.onError(GrpcErrors.internal("GetAppKeys", e));
    } finally {
      grant.destroyKeys();
    }
  }

  @Override
  public void signCert(SignCertRequest request, StreamObserver<SignCertResponse> out) {
    attestedPeer("DENY_SIGN_CERT")
        .chain(
            peer ->
                admission.signCertificate(
                    peer,
                    request.getCsr().toByteArray(),
                    request.getDnsNamesList(),
                    request.getValiditySeconds(),
                    request.getClientAuth()))
        .subscribe()
        .with(
            signed -> {
              out.onNext(
                  SignCertResponse.newBuilder()
                      .setCertificate(
                          ByteString.copyFrom(signed.issued().certificateDer().toByteArray()))
                      .setAppCaCertificate(encode(signed.issued().caKeyCertificate()))
                      .setKeyVersion(signed.issued().keyVersion())
                      .setGrantId(signed.grantId().toString())
                      .addCaChain(ByteString.copyFrom(signed.issued().appCaX509().toByteArray()))
                      .addCaChain(ByteString.copyFrom(signed.issued().kmsCaX509().toByteArray()))
                      .build());
              out.onCompleted();
            },
            failure -> {
              if (failure instanceof AdmissionDenied d) {
                logDecision(
                    "SignCert",
                    null,
                    null,
                    d,
                    () -> LOG.infof("SignCert denied: %s: %s", d.code(), d.detail()));
                out.onError(GrpcErrors.denied(d));
              } else {
                LOG.errorf(failure, "SignCert failed");
                out.onError(GrpcErrors.internal("SignCert", failure));
              }
            });
  }

  /**
   * Logs an admission decision with structured fields (MDC: {@code event}, {@code result}, {@code
   * app}, {@code grant}, {@code reason}), which the JSON log format emits as keys. Ids and reason
   * codes only: never key material.
   */
  private static void logDecision(
      String event, String app, String grant, AdmissionDenied denied, Runnable log) {
    MDC.put("event", event);
    MDC.put("result", denied == null ? "granted" : "denied");
    if (app != null) {
      MDC.put("app", app);
    }
    if (grant != null) {
      MDC.put("grant", grant);
    }
    if (denied != null) {
      MDC.put("reason", denied.code().name());
    }
    try {
      log.run();
    } finally {
      for (String key : new String[] {"event", "result", "app", "grant", "reason"}) {
        MDC.remove(key);
      }
    }
  }

  /** The wire form of one released version (also what tests feed to the guest agent's verifier). */
  public static AppKeys encode(ReleasedAppKeys k) {
    AppKeys.Builder b =
        AppKeys.newBuilder()
            .setKeyVersion(k.version())
            .setRootGeneration(k.generation())
            .setAppRootSecret(ByteString.copyFrom(k.appRootSecret()))
            .setAppRootCertificate(encode(k.appRootCertificate()))
            .setEnvEncryptionKey(ByteString.copyFrom(k.envEncryptionKey()))
            .setEnvEncryptionCertificate(encode(k.envEncryptionCertificate()))
            .setAppCaKey(ByteString.copyFrom(k.appCaKey()))
            .setAppCaCertificate(encode(k.appCaCertificate()))
            .setAppCaX509(ByteString.copyFrom(k.appCaX509()))
            .setKmsCaX509(ByteString.copyFrom(k.kmsCaX509()));
    k.diskKey().ifPresent(d -> b.setDiskKey(ByteString.copyFrom(d)));
    return b.build();
  }

  static org.teekms.proto.AppRootCertificate encode(AppRootCertificate c) {
    return org.teekms.proto.AppRootCertificate.newBuilder()
        .setRootGeneration(c.generation())
        .setAppId(ByteString.copyFrom(c.appId().toBytes()))
        .setKeyVersion(c.version())
        .setAppRootPublicKey(ByteString.copyFrom(c.appRootPublicKey().toByteArray()))
        .setKmsSignature(ByteString.copyFrom(c.kmsSignature().toBytes()))
        .build();
  }

  static org.teekms.proto.PurposeKeyCertificate encode(PurposeKeyCertificate c) {
    return org.teekms.proto.PurposeKeyCertificate.newBuilder()
        .setPurpose(c.key().purpose().label())
        .setAlgorithm(c.key().algorithm().label())
        .setPath(c.key().path())
        .setInstanceId(
            c.key().instanceId() == null
                ? ByteString.EMPTY
                : ByteString.copyFrom(c.key().instanceId().toBytes()))
        .setPublicKey(ByteString.copyFrom(c.publicKey().toByteArray()))
        .setAppRootSignature(ByteString.copyFrom(c.appRootSignature().toBytes()))
        .build();
  }
}
