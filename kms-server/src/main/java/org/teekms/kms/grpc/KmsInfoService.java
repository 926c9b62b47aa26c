package org.teekms.kms.grpc;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.vertx.mutiny.sqlclient.Pool;
import java.util.HexFormat;
import org.jboss.logging.Logger;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.KmsKeyDeriver;
import java.util.ArrayList;
import java.util.List;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.kms.wiring.KmsConfig;
import org.teekms.kms.tls.RaTlsSetup;
import org.teekms.kms.keys.KmsCertificateAuthority;
import org.teekms.proto.KmsIdentityBinding;
import org.teekms.kms.keys.LiveKeyring;
import org.teekms.kms.roots.RootGeneration;
import org.teekms.kms.roots.RootGenerationStore;
import org.teekms.kms.roots.RootState;
import org.teekms.proto.GetKmsInfoRequest;
import org.teekms.proto.KmsInfo;
import org.teekms.proto.KmsInfoServiceGrpc;
import org.teekms.proto.RootGenerationInfo;

/**
 * teekms.v1.KmsInfoService: who this KMS is (plain TLS, no client attestation). The KMS root public keys come from
 * the live keyring; the node's quote binds them ({@link KmsIdentityBinding}); {@code simulated} says whether that quote
 * comes from the TDX simulator.
 */
@GrpcService
public class KmsInfoService extends KmsInfoServiceGrpc.KmsInfoServiceImplBase {

  private static final Logger LOG = Logger.getLogger(KmsInfoService.class);

  private final Pool pool;
  private final RootGenerationStore roots;
  private final LiveKeyring keyring;
  private final KmsConfig config;
  private final RaTlsSetup ratls;

  public KmsInfoService(Pool pool, RootGenerationStore roots, LiveKeyring keyring, KmsConfig config, RaTlsSetup ratls) {
    this.pool = pool;
    this.roots = roots;
    this.keyring = keyring;
    this.config = config;
    this.ratls = ratls;
  }

  @Override
  public void getKmsInfo(GetKmsInfoRequest request, StreamObserver<KmsInfo> out) {
    if (!request.getNonce().isEmpty() && request.getNonce().size() != 32) {
      out.onError(GrpcErrors.invalid("nonce must be empty or 32 bytes"));
      return;
    }
    // Database reads reactive; derivation, certificates and the quote (CPU, the TD's quote device) on a worker.
    UniAnswer.answer("GetKmsInfo", keyring.derive(pool, null)
        .chain(deriver -> roots.list(pool).map(generations -> java.util.Map.entry(deriver, generations)))
        .emitOn(Infrastructure.getDefaultWorkerPool())
        .map(read -> info(read.getKey(), read.getValue(), request.getNonce().toByteArray())),
        config.dbTimeout().multipliedBy(3), out, LOG);
  }

  private KmsInfo info(KmsKeyDeriver deriver, List<RootGeneration> generations, byte[] nonce) {
    KmsInfo.Builder b = KmsInfo.newBuilder().setKmsId(config.kmsId()).setNodeId(config.nodeId().orElse(""))
        .setCurrentGeneration(deriver.keyring().currentGeneration()).setChainId(config.chain().chainId())
        .setSimulated(config.simulator().enabled()).setVersion(version());
    config.chain().registryAddress().ifPresent(a -> b.setRegistryAddress(ByteString.copyFrom(
        HexFormat.of().parseHex(a.startsWith("0x") ? a.substring(2) : a))));
    List<KmsIdentityBinding.Root> bound = new ArrayList<>();
    for (RootGeneration g : generations) {
      if (g.state() != RootState.CURRENT && g.state() != RootState.RETIRED) {
        continue;
      }
      try (DerivedKey root = deriver.kmsRootKey(g.generation()); DerivedKey ca = deriver.kmsCaKey(g.generation());
           DerivedKey anchor = deriver.kmsAuditAnchorKey(g.generation())) {
        byte[] caCert = KmsCertificateAuthority.kmsCaCertificate(ca, root.ethereumAddress().toString());
        b.addGenerations(RootGenerationInfo.newBuilder().setGeneration(g.generation()).setState(g.state().name())
            .setRootPublicKey(ByteString.copyFrom(root.publicKey()))
            .setRootAddress(ByteString.copyFrom(root.ethereumAddress().toBytes())).setCreatedAt(g.createdAt())
            .setCaCertificate(ByteString.copyFrom(caCert))
            .setAuditAnchorAddress(ByteString.copyFrom(anchor.ethereumAddress().toBytes())));
        if (g.state() == RootState.CURRENT) {
          b.setCaCertificate(ByteString.copyFrom(caCert));
        }
        bound.add(new KmsIdentityBinding.Root(g.generation(), root.ethereumAddress().toBytes(), caCert));
      }
    }
    RuntimeEventLog.QuoteWithLog quote = ratls.quote(KmsIdentityBinding.reportData(config.kmsId(), bound, nonce));
    return b.setQuote(ByteString.copyFrom(quote.quote())).setEventLog(quote.eventLogJson()).build();
  }

  private static String version() {
    String v = KmsInfoService.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }
}
