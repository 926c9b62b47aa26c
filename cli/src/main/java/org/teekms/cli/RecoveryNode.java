package org.teekms.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.teekms.crypto.NetworkErrors;
import org.teekms.proto.GetRecoveryStatusRequest;
import org.teekms.proto.RecoveryGrpc;
import org.teekms.proto.RecoveryStatus;
import org.teekms.proto.SubmitShareRequest;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * A recovering KMS node's teekms.v1.Recovery service (docs/root-custody.md §6.4). The TLS channel
 * is not trusted for anything: the node certificate it answers is verified as RA-TLS by the caller
 * before a share is sealed to its key, the envelope is bound to that key and the request, and the
 * share is signed by the custodian; a party in the middle can only drop calls.
 */
final class RecoveryNode implements AutoCloseable {

  /**
   * A call that did not succeed: the failure code (the node's deny reason, or NODE_UNREACHABLE) and
   * one line.
   */
  static final class Failed extends Exception {
    private static final long serialVersionUID = 1L;
    final String failure;

    Failed(String failure, String message) {
      super(message);
      this.failure = failure;
    }
  }

  private final ManagedChannel channel;
  private final String address;
  private final int timeoutSeconds;

  private RecoveryNode(ManagedChannel channel, String address, int timeoutSeconds) {
    this.channel = channel;
    this.address = address;
    this.timeoutSeconds = timeoutSeconds;
  }

  static RecoveryNode open(CommandSpec spec, String address, int timeoutSeconds) {
    int colon = address.lastIndexOf(':');
    int port = -1;
    try {
      port = Integer.parseInt(address.substring(colon + 1));
    } catch (RuntimeException e) {
      // reported below
    }
    if (colon <= 0 || port < 1 || port > 65535) {
      throw new ParameterException(
          spec.commandLine(), "the node must be HOST:PORT, got " + address);
    }
    if (timeoutSeconds < 1)
      throw new ParameterException(spec.commandLine(), "--timeout must be at least 1 second");
    try {
      return new RecoveryNode(
          NettyChannelBuilder.forAddress(address.substring(0, colon), port)
              .overrideAuthority("kms.teekms.invalid")
              .sslContext(
                  GrpcSslContexts.configure(
                          SslContextBuilder.forClient()
                              .trustManager(InsecureTrustManagerFactory.INSTANCE),
                          SslProvider.JDK)
                      .build())
              .build(),
          address,
          timeoutSeconds);
    } catch (SSLException e) {
      throw new IllegalStateException("TLS unavailable: " + e.getMessage(), e);
    }
  }

  RecoveryStatus status() throws Failed {
    try {
      return stub().getRecoveryStatus(GetRecoveryStatusRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      throw failed(e);
    }
  }

  RecoveryStatus submit(byte[] requestId, int index, byte[] envelope, byte[] signature)
      throws Failed {
    try {
      return stub()
          .submitShare(
              SubmitShareRequest.newBuilder()
                  .setRequestId(ByteString.copyFrom(requestId))
                  .setIndex(index)
                  .setEnvelope(ByteString.copyFrom(envelope))
                  .setSignature(ByteString.copyFrom(signature))
                  .build());
    } catch (StatusRuntimeException e) {
      throw failed(e);
    }
  }

  private RecoveryGrpc.RecoveryBlockingStub stub() {
    return RecoveryGrpc.newBlockingStub(channel)
        .withDeadlineAfter(timeoutSeconds, TimeUnit.SECONDS);
  }

  private Failed failed(StatusRuntimeException e) {
    io.grpc.Metadata trailers = e.getTrailers();
    String reason =
        trailers == null
            ? null
            : trailers.get(
                io.grpc.Metadata.Key.of(
                    "teekms-deny-reason", io.grpc.Metadata.ASCII_STRING_MARSHALLER));
    if (reason != null) {
      return new Failed(
          "NODE_REFUSED_" + reason,
          "the node at " + address + " refused the share: " + e.getStatus().getDescription());
    }
    if (e.getStatus().getCode() == io.grpc.Status.Code.UNIMPLEMENTED) {
      return new Failed(
          "NODE_NOT_RECOVERING", "the node at " + address + " has no Recovery service");
    }
    String why =
        NetworkErrors.cause(e)
            .orElse(
                e.getStatus().getCode()
                    + (e.getStatus().getDescription() == null
                        ? ""
                        : ": " + e.getStatus().getDescription()));
    return new Failed(
        "NODE_UNREACHABLE", "cannot reach the recovering node at " + address + ": " + why);
  }

  /** The status as JSON fields (public values only). */
  static void describe(RecoveryStatus s, ObjectNode json) {
    HexFormat hex = HexFormat.of();
    json.put("state", s.getState());
    json.put("generation", s.getGeneration());
    json.put("nodeKeyId", "0x" + hex.formatHex(s.getNodeKeyId().toByteArray()));
    json.put("threshold", s.getThreshold());
    ArrayNode valid = json.putArray("validIndices");
    s.getValidIndicesList().forEach(valid::add);
    ArrayNode bad = json.putArray("badShares");
    s.getBadSharesList()
        .forEach(b -> bad.addObject().put("index", b.getIndex()).put("reason", b.getReason()));
    if (!s.getRequestId().isEmpty())
      json.put("requestId", "0x" + hex.formatHex(s.getRequestId().toByteArray()));
    json.put("detail", s.getDetail());
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
