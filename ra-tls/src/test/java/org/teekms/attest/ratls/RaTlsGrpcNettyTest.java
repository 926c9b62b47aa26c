package org.teekms.attest.ratls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.Test;

/**
 * Mutual RA-TLS with grpc-java's Netty transport: a one-method service that greets its attested
 * caller.
 */
class RaTlsGrpcNettyTest {
  static final Context.Key<RaTlsIdentity> PEER = Context.key("ratls-peer");

  static final MethodDescriptor.Marshaller<String> UTF8 =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(String value) {
          return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
          try {
            return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
        }
      };

  static final MethodDescriptor<String, String> WHO_AM_I =
      MethodDescriptor.<String, String>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("teekms.test.Hello/WhoAmI")
          .setRequestMarshaller(UTF8)
          .setResponseMarshaller(UTF8)
          .build();

  /**
   * Reads the verified peer identity from the TLS session (no second verification) into the call
   * context.
   */
  static ServerInterceptor peerIdentity(RaTlsTrustManager trust) {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(
          ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        try {
          RaTlsIdentity id = trust.peerIdentity(session);
          return Contexts.interceptCall(Context.current().withValue(PEER, id), call, headers, next);
        } catch (Exception e) {
          call.close(
              Status.PERMISSION_DENIED.withDescription("no attested peer: " + e.getMessage()),
              new Metadata());
          return new ServerCall.Listener<>() {};
        }
      }
    };
  }

  static Server server(RaTlsCredentials creds, RaTlsTrustManager trust) throws IOException {
    SslContext ssl =
        GrpcSslContexts.configure(
                SslContextBuilder.forServer(
                        RaTlsContexts.keyManagerFactory(new RaTlsKeyManager(creds)))
                    .trustManager(RaTlsContexts.trustManagerFactory(trust))
                    .clientAuth(ClientAuth.REQUIRE),
                SslProvider.JDK)
            .build();
    ServerServiceDefinition service =
        ServerServiceDefinition.builder("teekms.test.Hello")
            .addMethod(
                WHO_AM_I,
                ServerCalls.asyncUnaryCall(
                    (String request, io.grpc.stub.StreamObserver<String> out) -> {
                      RaTlsIdentity caller = PEER.get();
                      out.onNext(
                          request
                              + " from app "
                              + caller.appId().hex()
                              + " compose "
                              + caller.composeHash().hex());
                      out.onCompleted();
                    }))
            .build();
    return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .sslContext(ssl)
        .addService(ServerInterceptors.intercept(service, peerIdentity(trust)))
        .build()
        .start();
  }

  static ManagedChannel channel(Server server, RaTlsCredentials creds, RaTlsTrustManager trust)
      throws IOException {
    SslContext ssl =
        GrpcSslContexts.configure(
                SslContextBuilder.forClient()
                    .keyManager(RaTlsContexts.keyManagerFactory(new RaTlsKeyManager(creds)))
                    .trustManager(RaTlsContexts.trustManagerFactory(trust)),
                SslProvider.JDK)
            .build();
    return NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .overrideAuthority("kms.teekms.invalid")
        .sslContext(ssl)
        .build();
  }

  @Test
  void grpcOverMutualRaTls() throws Exception {
    RaTlsCredentials serverCreds = SimulatedRaTls.credentials("services:\n  kms: {}\n");
    RaTlsCredentials clientCreds = SimulatedRaTls.credentials("services:\n  agent: {}\n");
    RaTlsTrustManager serverTrust = new RaTlsTrustManager(SimulatedRaTls.verifier().build());
    RaTlsTrustManager clientTrust = new RaTlsTrustManager(SimulatedRaTls.verifier().build());
    Server server = server(serverCreds, serverTrust);
    ManagedChannel channel = channel(server, clientCreds, clientTrust);
    try {
      String reply =
          ClientCalls.blockingUnaryCall(channel, WHO_AM_I, io.grpc.CallOptions.DEFAULT, "hi");
      RaTlsIdentity client =
          serverTrust.verifier().verify(clientCreds.certificate()); // cached: same identity
      assertEquals(
          "hi from app " + client.appId().hex() + " compose " + client.composeHash().hex(), reply);
      assertEquals(
          java.util.HexFormat.of()
              .formatHex(SimulatedTdxTestSupport.sha256("services:\n  agent: {}\n")),
          client.composeHash().hex());
      // the client, too, knows whom it talks to
      RaTlsIdentity serverId = clientTrust.verifier().verify(serverCreds.certificate());
      assertEquals(
          java.util.HexFormat.of()
              .formatHex(SimulatedTdxTestSupport.sha256("services:\n  kms: {}\n")),
          serverId.composeHash().hex());
    } finally {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void grpcRefusesAClientThePolicyRejects() throws Exception {
    RaTlsCredentials serverCreds = SimulatedRaTls.credentials("services:\n  kms: {}\n");
    RaTlsCredentials clientCreds = SimulatedRaTls.credentials("services:\n  rogue: {}\n");
    java.util.concurrent.atomic.AtomicReference<String> refused =
        new java.util.concurrent.atomic.AtomicReference<>();
    RaTlsTrustManager serverTrust =
        new RaTlsTrustManager(
            SimulatedRaTls.verifier()
                .policy(
                    id -> {
                      refused.set("app " + id.appId().hex() + " is not registered");
                      return Optional.of(refused.get());
                    })
                .build());
    Server server = server(serverCreds, serverTrust);
    ManagedChannel channel =
        channel(server, clientCreds, new RaTlsTrustManager(SimulatedRaTls.verifier().build()));
    try {
      StatusRuntimeException e =
          assertThrows(
              StatusRuntimeException.class,
              () ->
                  ClientCalls.blockingUnaryCall(
                      channel, WHO_AM_I, io.grpc.CallOptions.DEFAULT, "hi"));
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
      // the handshake failed because the server's policy refused the attested client
      String clientApp =
          java.util.HexFormat.of()
              .formatHex(SimulatedTdxTestSupport.sha256("services:\n  rogue: {}\n"))
              .substring(0, 40);
      assertEquals("app " + clientApp + " is not registered", refused.get());
    } finally {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
  }
}
