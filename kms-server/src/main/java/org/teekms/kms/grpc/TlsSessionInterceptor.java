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

/** Puts the call's TLS session (if any) into the gRPC context; services ask {@link #SESSION} for it. No decisions. */
@GlobalInterceptor
@ApplicationScoped
public class TlsSessionInterceptor implements ServerInterceptor {

  public static final Context.Key<SSLSession> SESSION = Context.key("teekms-tls-session");

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    return Contexts.interceptCall(Context.current().withValue(SESSION, session), call, headers, next);
  }
}
