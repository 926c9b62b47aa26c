package org.teekms.kms.grpc;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Uni;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Clock;
import org.jboss.logging.Logger;
import org.teekms.kms.admission.AdmissionDenied;
import org.teekms.kms.admission.DenyCode;
import org.teekms.kms.db.StateSessions;
import org.teekms.kms.keys.EnvPublicKeyReader;
import org.teekms.kms.keys.LiveKeyring;
import org.teekms.kms.keystate.AppKeyStateStore;
import org.teekms.kms.operator.RegistryOwnerPort;
import org.teekms.kms.wiring.KmsConfig;
import org.teekms.proto.AppEnvEncryptPubKey;
import org.teekms.proto.AppEnvGrpc;
import org.teekms.proto.GetAppEnvEncryptPubKeyRequest;
import org.teekms.proto.PolicyBlock;

/**
 * teekms.v1.AppEnv (plain TLS, no client certificate): the rate limit per source address ({@code
 * teekms.env-pubkey.*}), then {@link EnvPublicKeyReader}, then encode. Refusals carry the
 * deny-reason trailer. Non-blocking: the call returns on its event loop at once and answers when
 * the reader's Uni completes.
 */
@GrpcService
public class AppEnvService extends AppEnvGrpc.AppEnvImplBase {
  private static final Logger LOG = Logger.getLogger(AppEnvService.class);

  private final SourceRateLimiter limiter;
  private final EnvPublicKeyReader reader;

  public AppEnvService(
      StateSessions sessions,
      LiveKeyring keyring,
      RegistryOwnerPort chain,
      KmsConfig config,
      Clock clock) {
    KmsConfig.EnvPubkey limits = config.envPubkey();
    this.limiter =
        new SourceRateLimiter(
            limits.requestsPerMinute(), limits.burst(), limits.maxSources(), System::nanoTime);
    this.reader =
        new EnvPublicKeyReader(
            chain,
            config.chain().chainId(),
            app -> AppKeyStateStore.read(sessions, app).ifNoItem().after(config.dbTimeout()).fail(),
            () -> keyring.derive(null).ifNoItem().after(config.dbTimeout()).fail(),
            clock);
  }

  /** The source a budget is kept for: the peer's IP address (all ports of one host share it). */
  static String source(SocketAddress remote) {
    if (remote instanceof InetSocketAddress inet && inet.getAddress() != null) {
      return inet.getAddress().getHostAddress();
    }
    return String.valueOf(remote);
  }

  @Override
  public void getAppEnvEncryptPubKey(
      GetAppEnvEncryptPubKeyRequest request, StreamObserver<AppEnvEncryptPubKey> out) {
    String source = source(TlsSessionInterceptor.REMOTE.get());
    Uni<AppEnvEncryptPubKey> answer =
        limiter.tryAcquire(source)
            ? reader.read(request.getAppId().toByteArray()).map(AppEnvService::encode)
            : Uni.createFrom()
                .failure(
                    new AdmissionDenied(
                        DenyCode.RATE_LIMITED,
                        "source "
                            + source
                            + " exceeded teekms.env-pubkey requests-per-minute; retry later"));
    UniAnswer.answer("GetAppEnvEncryptPubKey", answer, out, LOG);
  }

  private static AppEnvEncryptPubKey encode(EnvPublicKeyReader.Answer a) {
    return AppEnvEncryptPubKey.newBuilder()
        .setPublicKey(ByteString.copyFrom(a.key().publicKey().toByteArray()))
        .setSignature(ByteString.copyFrom(a.key().legacySignature().toByteArray()))
        .setTimestamp(a.key().timestampSeconds())
        .setSignatureV1(ByteString.copyFrom(a.key().signatureV1().toByteArray()))
        .setKeyVersion(a.key().version())
        .setRootGeneration(a.key().generation())
        .setAppRootCertificate(KmsService.encode(a.key().appRootCertificate()))
        .setEnvEncryptionCertificate(KmsService.encode(a.key().envCertificate()))
        .setPolicyBlock(
            PolicyBlock.newBuilder()
                .setChainId(a.block().chainId())
                .setNumber(a.block().number())
                .setHash(ByteString.copyFrom(a.block().hash().toByteArray())))
        .build();
  }
}
