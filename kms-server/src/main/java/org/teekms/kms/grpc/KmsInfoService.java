package org.teekms.kms.grpc;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.vertx.mutiny.sqlclient.Pool;
import java.util.HexFormat;
import org.jboss.logging.Logger;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.kms.app.KmsConfig;
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
 * the live keyring. The node's own quote is not attached yet (needs the RA-TLS quote provider): {@code quote} is
 * empty and {@code simulated} reflects the simulator flag.
 */
@GrpcService
@Blocking
public class KmsInfoService extends KmsInfoServiceGrpc.KmsInfoServiceImplBase {

  private static final Logger LOG = Logger.getLogger(KmsInfoService.class);

  private final Pool pool;
  private final RootGenerationStore roots;
  private final LiveKeyring keyring;
  private final KmsConfig config;

  public KmsInfoService(Pool pool, RootGenerationStore roots, LiveKeyring keyring, KmsConfig config) {
    this.pool = pool;
    this.roots = roots;
    this.keyring = keyring;
    this.config = config;
  }

  @Override
  public void getKmsInfo(GetKmsInfoRequest request, StreamObserver<KmsInfo> out) {
    if (!request.getNonce().isEmpty() && request.getNonce().size() != 32) {
      out.onError(GrpcErrors.invalid("nonce must be empty or 32 bytes"));
      return;
    }
    try {
      KmsKeyDeriver deriver = keyring.deriver(pool);
      KmsInfo.Builder b = KmsInfo.newBuilder().setKmsId(config.kmsId()).setNodeId(config.nodeId().orElse(""))
          .setCurrentGeneration(deriver.keyring().currentGeneration()).setChainId(config.chain().chainId())
          .setSimulated(config.simulator().enabled()).setVersion(version());
      config.chain().registryAddress().ifPresent(a -> b.setRegistryAddress(ByteString.copyFrom(
          HexFormat.of().parseHex(a.startsWith("0x") ? a.substring(2) : a))));
      for (RootGeneration g : roots.list().await().atMost(config.dbTimeout())) {
        if (g.state() != RootState.CURRENT && g.state() != RootState.RETIRED) {
          continue;
        }
        try (DerivedKey root = deriver.kmsRootKey(g.generation())) {
          b.addGenerations(RootGenerationInfo.newBuilder().setGeneration(g.generation()).setState(g.state().name())
              .setRootPublicKey(ByteString.copyFrom(root.publicKey()))
              .setRootAddress(ByteString.copyFrom(root.ethereumAddress().toBytes())).setCreatedAt(g.createdAt()));
        }
      }
      out.onNext(b.build());
      out.onCompleted();
    } catch (RuntimeException e) {
      LOG.errorf(e, "GetKmsInfo failed");
      out.onError(GrpcErrors.internal("GetKmsInfo", e));
    }
  }

  private static String version() {
    String v = KmsInfoService.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }
}
