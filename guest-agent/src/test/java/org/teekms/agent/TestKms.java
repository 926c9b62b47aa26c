package org.teekms.agent;

import com.google.protobuf.ByteString;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPrivateKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.teekms.attest.ratls.RaTlsContexts;
import org.teekms.attest.ratls.RaTlsCredentials;
import org.teekms.attest.ratls.RaTlsIdentity;
import org.teekms.attest.ratls.RaTlsKeyManager;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.SimulatedRaTls;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;
import org.teekms.keys.AppKeyDeriver;
import org.teekms.keys.AppRootCertificate;
import org.teekms.keys.AppRootSecret;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.InsecureSecretAccess;
import org.teekms.keys.InstanceId;
import org.teekms.keys.KeyRequest;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.PurposeKeyCertificate;
import org.teekms.keys.RootKeyring;
import org.teekms.keys.VersionRef;
import org.teekms.proto.AppKeys;
import org.teekms.proto.GetAppKeysRequest;
import org.teekms.proto.GetAppKeysResponse;
import org.teekms.proto.KmsGrpc;
import org.teekms.proto.SignCertRequest;
import org.teekms.proto.SignCertResponse;

/**
 * An honest in-process KMS for the agent's tests (the real kms-server is another module): it runs
 * in a simulated CVM, serves the kms-proto Kms service over mutual RA-TLS (grpc-java Netty), admits
 * a caller only when the RA-TLS trust manager verified it and its (app id, compose hash) is
 * allowed, derives keys with key-derivation exactly as the KMS does, and issues SignCert
 * certificates under the app CA key. Failures can be injected. Published in this module's test jar:
 * the CLI's tests boot the demo's CVM against it.
 */
public final class TestKms implements AutoCloseable {
  static final Context.Key<RaTlsIdentity> PEER = Context.key("peer");
  static final Metadata.Key<String> DENY =
      Metadata.Key.of("teekms-deny-reason", Metadata.ASCII_STRING_MARSHALLER);

  final RaTlsCredentials credentials;
  public final RaTlsIdentity identity;
  final KmsKeyDeriver deriver;
  final Map<Bytes, Set<Bytes>> allowedComposeHashes = new ConcurrentHashMap<>();
  final Map<Bytes, KeyVersionPolicy> policies = new ConcurrentHashMap<>();
  final AtomicInteger getAppKeysCalls = new AtomicInteger();
  final AtomicInteger failNextWithUnavailable = new AtomicInteger();
  final List<RaTlsIdentity> admitted = new CopyOnWriteArrayList<>();

  /** Misbehave: issue SignCert certificates with a key that is not the app CA. */
  final java.util.concurrent.atomic.AtomicBoolean rogueCa =
      new java.util.concurrent.atomic.AtomicBoolean();

  private final Server server;

  public TestKms(String kmsCompose) throws Exception {
    this(kmsCompose, SimulatedRaTls.TDX);
  }

  /** A KMS in a CVM of {@code platform}, trusting CVMs of that platform only. */
  TestKms(String kmsCompose, org.teekms.attest.sim.SimulatedTdx platform) throws Exception {
    // The KMS's CVM measures itself as a booted CVM does (with an OS image hash, which the KMS
    // registry requires).
    byte[] instance = new byte[20];
    instance[0] = 0x4b;
    byte[] osImage = new byte[32];
    java.util.Arrays.fill(osImage, (byte) 0x05);
    var kmsApp =
        org.teekms.agent.boot.AppCompose.parse(
            kmsCompose.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    var cvm = platform.newCvm(new byte[48], false);
    var log = new org.teekms.attest.provider.RuntimeEventLog(cvm, List.of());
    org.teekms.agent.boot.BootMeasurements.measureIdentity(
        log,
        new org.teekms.agent.boot.CvmIdentity(
            AppId.of(java.util.Arrays.copyOf(kmsApp.composeHash().toByteArray(), 20)),
            InstanceId.of(instance),
            org.teekms.crypto.Bytes.copyOf(osImage),
            kmsApp));
    org.teekms.agent.boot.BootMeasurements.systemReady(log);
    credentials =
        new org.teekms.attest.ratls.RaTlsCertificateFactory(
                cvm, log, null, SimulatedRaTls.CLOCK, java.time.Duration.ofHours(24))
            .create("kms");
    var verifier =
        org.teekms.attest.ratls.RaTlsVerifier.builder(
                new org.teekms.attest.tdx.DcapQuoteVerifier(platform.rootCertificate()),
                request -> platform.collateral().toCollateral())
            .quotePolicy(org.teekms.attest.tdx.QuotePolicy.builder().build())
            .clock(SimulatedRaTls.CLOCK)
            .build();
    RaTlsTrustManager trust = new RaTlsTrustManager(verifier);
    identity = verifier.verify(credentials.certificate());
    deriver =
        new KmsKeyDeriver(new RootKeyring(1, RootKeyring.generateRootSecret(new SecureRandom())));
    SslContext ssl =
        GrpcSslContexts.configure(
                SslContextBuilder.forServer(
                        RaTlsContexts.keyManagerFactory(new RaTlsKeyManager(credentials)))
                    .trustManager(RaTlsContexts.trustManagerFactory(trust))
                    .clientAuth(ClientAuth.REQUIRE),
                SslProvider.JDK)
            .build();
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .sslContext(ssl)
            .addService(ServerInterceptors.intercept(new Service(), peer(trust)))
            .build()
            .start();
  }

  public int port() {
    return server.getPort();
  }

  public void allow(AppId app, byte[] composeHash) {
    allowedComposeHashes
        .computeIfAbsent(Bytes.copyOf(app.toBytes()), k -> ConcurrentHashMap.newKeySet())
        .add(Bytes.copyOf(composeHash));
  }

  KeyVersionPolicy policy(AppId app) {
    return policies.getOrDefault(Bytes.copyOf(app.toBytes()), KeyVersionPolicy.initial());
  }

  /**
   * Stands in for the KMS CA certificate of generation 1 (agents compare its hash with the
   * registry's).
   */
  static final byte[] KMS_CA_X509 =
      "test KMS CA certificate, generation 1".getBytes(java.nio.charset.StandardCharsets.UTF_8);

  /** The compressed root public key of generation 1 (what the operator publishes). */
  byte[] rootPublicKey() {
    try (DerivedKey k = deriver.kmsRootKey(1)) {
      return k.publicKey();
    }
  }

  org.teekms.keys.EthereumAddress rootAddress() {
    try (DerivedKey k = deriver.kmsRootKey(1)) {
      return k.ethereumAddress();
    }
  }

  private static ServerInterceptor peer(RaTlsTrustManager trust) {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(
          ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        try {
          RaTlsIdentity id =
              trust.peerIdentity(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
          return Contexts.interceptCall(Context.current().withValue(PEER, id), call, headers, next);
        } catch (Exception e) {
          call.close(
              Status.PERMISSION_DENIED.withDescription("NO_CLIENT_CERTIFICATE: " + e.getMessage()),
              new Metadata());
          return new ServerCall.Listener<>() {};
        }
      }
    };
  }

  private final class Service extends KmsGrpc.KmsImplBase {
    @Override
    public void getAppKeys(GetAppKeysRequest request, StreamObserver<GetAppKeysResponse> out) {
      getAppKeysCalls.incrementAndGet();
      if (failNextWithUnavailable.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        out.onError(deny(Status.UNAVAILABLE, "CHAIN_UNAVAILABLE", "chain RPC down (injected)"));
        return;
      }
      RaTlsIdentity peer = PEER.get();
      Set<Bytes> allowed = allowedComposeHashes.get(peer.appId());
      if (allowed == null) {
        out.onError(
            deny(Status.PERMISSION_DENIED, "APP_NOT_REGISTERED", "app " + peer.appId().hex()));
        return;
      }
      if (!allowed.contains(peer.composeHash())) {
        out.onError(
            deny(
                Status.PERMISSION_DENIED,
                "COMPOSE_HASH_NOT_ALLOWED",
                "compose hash "
                    + peer.composeHash().hex()
                    + " not allowed for app "
                    + peer.appId().hex()));
        return;
      }
      admitted.add(peer);
      AppId app = AppId.of(peer.appId().toByteArray());
      KeyVersionPolicy policy = policy(app);
      GetAppKeysResponse.Builder r =
          GetAppKeysResponse.newBuilder()
              .setAppId(ByteString.copyFrom(app.toBytes()))
              .setInstanceId(ByteString.copyFrom(peer.instanceId().toByteArray()))
              .setCurrentVersion(policy.current())
              .setMinVersion(policy.minimum())
              .setGrantId(UUID.randomUUID().toString());
      for (int v = policy.minimum(); v <= policy.current(); v++) {
        if (policy.allows(v)) {
          r.addKeys(keys(app, peer.instanceId().toByteArray(), v, policy));
        }
      }
      out.onNext(r.build());
      out.onCompleted();
    }

    @Override
    public void signCert(SignCertRequest request, StreamObserver<SignCertResponse> out) {
      RaTlsIdentity peer = PEER.get();
      Set<Bytes> allowed = allowedComposeHashes.get(peer.appId());
      if (allowed == null || !allowed.contains(peer.composeHash())) {
        out.onError(deny(Status.PERMISSION_DENIED, "COMPOSE_HASH_NOT_ALLOWED", "not admitted"));
        return;
      }
      AppId app = AppId.of(peer.appId().toByteArray());
      KeyVersionPolicy policy = policy(app);
      int v = policy.current();
      try (DerivedKey ca = deriver.derive(KeyRequest.tlsCa(new VersionRef(1, app, v)), policy);
          AppRootSecret root = deriver.appRootSecret(new VersionRef(1, app, v), policy)) {
        JcaPKCS10CertificationRequest csr =
            new JcaPKCS10CertificationRequest(
                new PKCS10CertificationRequest(request.getCsr().toByteArray()));
        if (!csr.isSignatureValid(
            new JcaContentVerifierProviderBuilder().build(csr.getPublicKey()))) {
          out.onError(deny(Status.INVALID_ARGUMENT, "REQUEST_INVALID", "CSR signature"));
          return;
        }
        Instant now = Instant.now();
        X500Name issuer = new X500Name("CN=app CA " + app.toHex());
        var b =
            new JcaX509v3CertificateBuilder(
                issuer,
                BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minusSeconds(60)),
                Date.from(now.plusSeconds(request.getValiditySeconds())),
                new X500Name("CN=" + peer.instanceId().hex() + ",O=" + app.toHex()),
                csr.getPublicKey());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        List<GeneralName> names = new ArrayList<>();
        request.getDnsNamesList().forEach(n -> names.add(new GeneralName(GeneralName.dNSName, n)));
        if (!names.isEmpty()) {
          b.addExtension(
              Extension.subjectAlternativeName,
              false,
              new GeneralNames(names.toArray(new GeneralName[0])));
        }
        b.addExtension(
            Extension.extendedKeyUsage,
            false,
            new ExtendedKeyUsage(
                request.getClientAuth()
                    ? new KeyPurposeId[] {
                      KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth
                    }
                    : new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth}));
        X509Certificate cert =
            new JcaX509CertificateConverter()
                .getCertificate(
                    b.build(
                        new JcaContentSignerBuilder("SHA256withECDSA")
                            .build(
                                rogueCa.get()
                                    ? org.teekms.attest.ratls.RaTlsCertificateFactory.newKeyPair()
                                        .getPrivate()
                                    : p256(ca))));
        PurposeKeyCertificate caCert = new AppKeyDeriver(root).certify(ca);
        out.onNext(
            SignCertResponse.newBuilder()
                .setCertificate(ByteString.copyFrom(cert.getEncoded()))
                .setAppCaCertificate(proto(caCert))
                .setKeyVersion(v)
                .setGrantId(UUID.randomUUID().toString())
                .build());
        out.onCompleted();
      } catch (Exception e) {
        out.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
      }
    }
  }

  static java.security.PublicKey p256Public(DerivedKey ca) throws Exception {
    var params = org.bouncycastle.asn1.x9.ECNamedCurveTable.getByName("secp256r1");
    var point = params.getCurve().decodePoint(ca.publicKey());
    var spec =
        new org.bouncycastle.jce.spec.ECPublicKeySpec(
            point,
            new org.bouncycastle.jce.spec.ECParameterSpec(
                params.getCurve(), params.getG(), params.getN(), params.getH()));
    return KeyFactory.getInstance("EC", new org.bouncycastle.jce.provider.BouncyCastleProvider())
        .generatePublic(spec);
  }

  static PrivateKey p256(DerivedKey ca) throws Exception {
    java.security.AlgorithmParameters ap = java.security.AlgorithmParameters.getInstance("EC");
    ap.init(new java.security.spec.ECGenParameterSpec("secp256r1"));
    ECParameterSpec spec = ap.getParameterSpec(ECParameterSpec.class);
    return KeyFactory.getInstance("EC")
        .generatePrivate(
            new ECPrivateKeySpec(
                new BigInteger(1, ca.privateKeyBytes(InsecureSecretAccess.get())), spec));
  }

  AppKeys keys(AppId app, byte[] instance, int v, KeyVersionPolicy policy) {
    return keys(deriver, app, instance, v, policy);
  }

  static AppKeys keys(
      KmsKeyDeriver deriver, AppId app, byte[] instance, int v, KeyVersionPolicy policy) {
    return keys(deriver, app, instance, v, policy, 1);
  }

  /** Keys of version {@code v} pinned to root generation {@code g}. */
  static AppKeys keys(
      KmsKeyDeriver deriver, AppId app, byte[] instance, int v, KeyVersionPolicy policy, int g) {
    InsecureSecretAccess access = InsecureSecretAccess.get();
    AppRootCertificate rootCert = deriver.certifyAppRoot(new VersionRef(g, app, v), policy);
    try (DerivedKey disk =
            deriver.derive(
                KeyRequest.disk(new VersionRef(g, app, v), InstanceId.of(instance), ""), policy);
        AppRootSecret root = deriver.appRootSecret(new VersionRef(g, app, v), policy);
        DerivedKey env =
            deriver.derive(KeyRequest.envEncryption(new VersionRef(g, app, v)), policy);
        DerivedKey ca = deriver.derive(KeyRequest.tlsCa(new VersionRef(g, app, v)), policy)) {
      AppKeyDeriver a = new AppKeyDeriver(root);
      return AppKeys.newBuilder()
          .setKeyVersion(v)
          .setRootGeneration(g)
          .setDiskKey(ByteString.copyFrom(disk.privateKeyBytes(access)))
          .setAppRootSecret(ByteString.copyFrom(root.toByteArray(access)))
          .setAppRootCertificate(
              org.teekms.proto.AppRootCertificate.newBuilder()
                  .setRootGeneration(g)
                  .setAppId(ByteString.copyFrom(app.toBytes()))
                  .setKeyVersion(v)
                  .setAppRootPublicKey(
                      ByteString.copyFrom(rootCert.appRootPublicKey().toByteArray()))
                  .setKmsSignature(ByteString.copyFrom(rootCert.kmsSignature().toBytes())))
          .setEnvEncryptionKey(ByteString.copyFrom(env.privateKeyBytes(access)))
          .setEnvEncryptionCertificate(proto(a.certify(env)))
          .setAppCaKey(ByteString.copyFrom(ca.privateKeyBytes(access)))
          .setAppCaCertificate(proto(a.certify(ca)))
          .setKmsCaX509(ByteString.copyFrom(KMS_CA_X509))
          .build();
    }
  }

  static org.teekms.proto.PurposeKeyCertificate proto(PurposeKeyCertificate c) {
    KeyRequest k = c.key();
    return org.teekms.proto.PurposeKeyCertificate.newBuilder()
        .setPurpose(k.purpose().label())
        .setAlgorithm(k.algorithm().label())
        .setPath(k.path())
        .setInstanceId(
            k.instanceId() == null
                ? ByteString.EMPTY
                : ByteString.copyFrom(k.instanceId().toBytes()))
        .setPublicKey(ByteString.copyFrom(c.publicKey().toByteArray()))
        .setAppRootSignature(ByteString.copyFrom(c.appRootSignature().toBytes()))
        .build();
  }

  private static RuntimeException deny(Status status, String reason, String detail) {
    Metadata trailers = new Metadata();
    trailers.put(DENY, reason);
    return status.withDescription(reason + ": " + detail).asRuntimeException(trailers);
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
  }
}
