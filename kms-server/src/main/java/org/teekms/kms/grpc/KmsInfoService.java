package org.teekms.kms.grpc;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.jboss.logging.Logger;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.crypto.Bytes;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.kms.admission.AdmissionDenied;
import org.teekms.kms.admission.DenyCode;
import org.teekms.kms.keys.KmsCertificateAuthority;
import org.teekms.kms.keys.LiveKeyring;
import org.teekms.kms.roots.RootGeneration;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootState;
import org.teekms.kms.tls.RaTlsSetup;
import org.teekms.kms.wiring.KmsConfig;
import org.teekms.proto.GetKmsInfoRequest;
import org.teekms.proto.KmsIdentityBinding;
import org.teekms.proto.KmsInfo;
import org.teekms.proto.KmsInfoServiceGrpc;
import org.teekms.proto.RootGenerationInfo;

/**
 * teekms.v1.KmsInfoService: who this KMS is (plain TLS, no client attestation). The KMS root public
 * keys come from the live keyring; the node's quote binds them ({@link KmsIdentityBinding}); {@code
 * simulated} says whether that quote comes from the TDX simulator. Needs no client certificate, so
 * its work is bounded: the answer without a nonce is cached per root generations and KMS
 * certificate (a renewal makes a fresh quote), and calls with a nonce (a fresh quote each, through
 * the TD's quote interface) are capped at {@code teekms.limits.concurrent-quotes} at once.
 */
@GrpcService
public class KmsInfoService extends KmsInfoServiceGrpc.KmsInfoServiceImplBase {

  private static final Logger LOG = Logger.getLogger(KmsInfoService.class);

  private final RootGenerationStore roots;
  private final LiveKeyring keyring;
  private final KmsConfig config;
  private final RaTlsSetup ratls;
  private final java.util.concurrent.Semaphore quotes;
  private final java.util.concurrent.atomic.AtomicReference<Cached> cached =
      new java.util.concurrent.atomic.AtomicReference<>();
  private final org.teekms.kms.status.NodeStatus status;

  public KmsInfoService(
      RootGenerationStore roots,
      LiveKeyring keyring,
      KmsConfig config,
      RaTlsSetup ratls,
      org.teekms.kms.status.NodeStatus status) {
    this.status = status;
    this.roots = roots;
    this.keyring = keyring;
    this.config = config;
    this.ratls = ratls;
    this.quotes = new java.util.concurrent.Semaphore(config.limits().concurrentQuotes());
  }

  @Override
  public void getKmsInfo(GetKmsInfoRequest request, StreamObserver<KmsInfo> out) {
    if (!request.getNonce().isEmpty() && request.getNonce().size() != 32) {
      out.onError(GrpcErrors.invalid("nonce must be empty or 32 bytes"));
      return;
    }
    byte[] nonce = request.getNonce().toByteArray();
    // Anyone may call this: the answer without a nonce is built once per (root generations, KMS
    // certificate) and
    // served from memory; a nonce needs a fresh quote, made by at most
    // teekms.limits.concurrent-quotes calls at once.
    UniAnswer.answer(
        "GetKmsInfo",
        roots
            .list()
            .chain(
                generations -> {
                  List<String> key =
                      generations.stream().map(g -> g.generation() + ":" + g.state()).toList();
                  Object certificate = ratls.keyManager().credentials().certificate();
                  Cached c = cached.get();
                  boolean current =
                      c != null && c.generations().equals(key) && c.certificate() == certificate;
                  if (current && nonce.length == 0) {
                    return Uni.createFrom().item(c.info());
                  }
                  if (nonce.length > 0 && !quotes.tryAcquire()) {
                    return Uni.createFrom()
                        .failure(
                            new AdmissionDenied(
                                DenyCode.RATE_LIMITED,
                                "GetKmsInfo with a nonce: "
                                    + config.limits().concurrentQuotes()
                                    + " quotes are being made (teekms.limits.concurrent-quotes); "
                                    + "retry later, or call without a nonce for the cached answer"));
                  }
                  Uni<KmsInfo> made =
                      (current
                          ? Uni.createFrom()
                              .item(c.info())
                              .emitOn(Infrastructure.getDefaultWorkerPool())
                              .map(info -> quoted(info.toBuilder(), bound(info), nonce))
                          : keyring
                              .derive(null)
                              .emitOn(Infrastructure.getDefaultWorkerPool())
                              .map(deriver -> info(deriver, generations, nonce))
                              .invoke(
                                  info -> {
                                    if (nonce.length == 0) {
                                      cached.set(new Cached(key, certificate, info));
                                    }
                                  }));
                  return nonce.length == 0 ? made : made.onTermination().invoke(quotes::release);
                }),
        config.dbTimeout().multipliedBy(3),
        out,
        LOG);
  }

  /**
   * The answer without a nonce, for the root generations ("generation:state") and KMS certificate
   * it was made under.
   */
  private record Cached(List<String> generations, Object certificate, KmsInfo info) {}

  /** The roots a cached answer's quote binds, as {@link #info} bound them. */
  private static List<KmsIdentityBinding.Root> bound(KmsInfo info) {
    List<KmsIdentityBinding.Root> bound = new ArrayList<>();
    for (RootGenerationInfo g : info.getGenerationsList()) {
      bound.add(
          new KmsIdentityBinding.Root(
              g.getGeneration(),
              Bytes.copyOf(g.getRootAddress().toByteArray()),
              Bytes.copyOf(g.getCaCertificate().toByteArray())));
    }
    return bound;
  }

  private KmsInfo quoted(KmsInfo.Builder b, List<KmsIdentityBinding.Root> bound, byte[] nonce) {
    RuntimeEventLog.QuoteWithLog quote =
        ratls.quote(KmsIdentityBinding.reportData(config.kmsId(), bound, nonce));
    return b.setQuote(ByteString.copyFrom(quote.quote().toByteArray()))
        .setEventLog(quote.eventLogJson())
        .build();
  }

  /** Operator status (read-only, nothing secret): see {@link org.teekms.kms.status.NodeStatus}. */
  @Override
  public void getKmsStatus(
      org.teekms.proto.GetKmsStatusRequest request,
      StreamObserver<org.teekms.proto.KmsStatus> out) {
    // Recomputing the audit chain reads every entry: allowed more time than a plain read.
    UniAnswer.answer(
        "GetKmsStatus",
        status.read(request.getVerifyAuditChain()),
        config.dbTimeout().multipliedBy(request.getVerifyAuditChain() ? 30 : 3),
        out,
        LOG);
  }

  private KmsInfo info(KmsKeyDeriver deriver, List<RootGeneration> generations, byte[] nonce) {
    KmsInfo.Builder b =
        KmsInfo.newBuilder()
            .setKmsId(config.kmsId())
            .setNodeId(config.nodeId().orElse(""))
            .setCurrentGeneration(deriver.keyring().currentGeneration())
            .setChainId(config.chain().chainId())
            .setSimulated(config.simulator().enabled())
            .setVersion(version());
    config
        .chain()
        .registryAddress()
        .ifPresent(
            a ->
                b.setRegistryAddress(
                    ByteString.copyFrom(
                        HexFormat.of().parseHex(a.startsWith("0x") ? a.substring(2) : a))));
    List<KmsIdentityBinding.Root> bound = new ArrayList<>();
    for (RootGeneration g : generations) {
      if (g.state() != RootState.CURRENT && g.state() != RootState.RETIRED) {
        continue;
      }
      try (DerivedKey root = deriver.kmsRootKey(g.generation());
          DerivedKey ca = deriver.kmsCaKey(g.generation());
          DerivedKey anchor = deriver.kmsAuditAnchorKey(g.generation())) {
        byte[] caCert =
            KmsCertificateAuthority.kmsCaCertificate(ca, root.ethereumAddress().toString());
        b.addGenerations(
            RootGenerationInfo.newBuilder()
                .setGeneration(g.generation())
                .setState(g.state().name())
                .setRootPublicKey(ByteString.copyFrom(root.publicKey()))
                .setRootAddress(ByteString.copyFrom(root.ethereumAddress().toBytes()))
                .setCreatedAt(g.createdAt())
                .setCaCertificate(ByteString.copyFrom(caCert))
                .setAuditAnchorAddress(ByteString.copyFrom(anchor.ethereumAddress().toBytes())));
        if (g.state() == RootState.CURRENT) {
          b.setCaCertificate(ByteString.copyFrom(caCert));
        }
        bound.add(
            new KmsIdentityBinding.Root(
                g.generation(),
                Bytes.copyOf(root.ethereumAddress().toBytes()),
                Bytes.copyOf(caCert)));
      }
    }
    return quoted(b, bound, nonce);
  }

  private static String version() {
    String v = KmsInfoService.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }
}
