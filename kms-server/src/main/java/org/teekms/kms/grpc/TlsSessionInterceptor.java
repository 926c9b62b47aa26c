package org.teekms.kms.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;
import javax.net.ssl.SSLSession;

/**
 * Puts the call's TLS session (if any) and the peer's socket address into the gRPC context;
 * services ask {@link #SESSION} / {@link #REMOTE} for them. No decisions.
 */
@GlobalInterceptor
@ApplicationScoped
public class TlsSessionInterceptor implements ServerInterceptor {

  public static final Context.Key<SSLSession> SESSION = Context.key("teekms-tls-session");
  public static final Context.Key<java.net.SocketAddress> REMOTE =
      Context.key("teekms-remote-address");

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    java.net.SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    return Contexts.interceptCall(
        Context.current().withValue(SESSION, session).withValue(REMOTE, remote),
        call,
        headers,
        next);
  }
}
