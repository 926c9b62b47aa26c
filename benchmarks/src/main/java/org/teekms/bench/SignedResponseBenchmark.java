package org.teekms.bench;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.teekms.agent.keys.AgentKeys;
import org.teekms.agent.proxy.AttestationReporter;
import org.teekms.agent.proxy.ResponseSigner;
import org.teekms.agent.proxy.SignedResponse;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.collateral.Collateral;
import org.teekms.crypto.Bytes;
import org.teekms.keys.AppId;
import org.teekms.keys.AppKeyDeriver;
import org.teekms.keys.KeyAlgorithm;
import org.teekms.keys.KeyVersionPolicy;
import org.teekms.keys.KmsKeyDeriver;
import org.teekms.keys.RootKeyring;
import org.teekms.keys.VersionRef;
import org.teekms.verifier.ExpectedIdentity;
import org.teekms.verifier.GpuRequirement;
import org.teekms.verifier.ResponseVerification;
import org.teekms.verifier.SignedText;

/**
 * The signing proxy's per-response cost and the end user's offline check: signing one exchange
 * (SHA-256 of a 1 KiB request and a 4 KiB response, EIP-191 personal_sign), recovering the signer
 * (what ethers.verifyMessage does), and a full {@code teekms verify response} (signature, DCAP
 * quote under the simulated root, REPORTDATA, TCB, OS image measurements, compose hash: {@link
 * ResponseVerification} against an explicit identity). Run: {@code java -jar
 * benchmarks/target/benchmarks.jar SignedResponseBenchmark -f 1 -wi 2 -i 3}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class SignedResponseBenchmark {
  private static final SignedText.Endpoint CHAT =
      new SignedText.Endpoint("POST", "/v1/chat/completions");

  private ResponseSigner signer;
  private byte[] request;
  private byte[] response;
  private SignedResponse signed;
  private byte[] reportJson;
  private byte[] signatureJson;
  private ResponseVerification verifier;
  private ExpectedIdentity expected;

  @Setup
  public void setup() throws Exception {
    SecureRandom rnd = new SecureRandom();
    KmsKeyDeriver kms = new KmsKeyDeriver(new RootKeyring(1, RootKeyring.generateRootSecret(rnd)));
    signer =
        new ResponseSigner(
            new AppKeyDeriver(
                    kms.appRootSecret(
                        new VersionRef(1, AppId.fromHex("42".repeat(20)), 1),
                        KeyVersionPolicy.initial()))
                .signingKey(KeyAlgorithm.SECP256K1, AgentKeys.RESPONSE_SIGNING_PATH));
    request = new byte[1024];
    response = new byte[4096];
    rnd.nextBytes(request);
    rnd.nextBytes(response);
    signed = signer.sign(CHAT, SignedText.sha256(request), SignedText.sha256(response));

    Clock clock = Clock.systemUTC();
    SimulatedTdx tdx = SimulatedTdx.enable("SignedResponseBenchmark", clock);
    String compose = "{\"name\":\"bench\"}";
    byte[] osImage = SignedText.sha256("bench OS image".getBytes(StandardCharsets.UTF_8));
    SimulatedCvm cvm =
        tdx.newCvm(new byte[48], false)
            .boot(SimulatedCvm.App.ofCompose(compose, new byte[20]).withOsImageHash(osImage));
    byte[] nonce = new byte[32];
    rnd.nextBytes(nonce);
    RuntimeEventLog.QuoteWithLog q =
        cvm.eventLog().quote(cvm, AttestationReporter.reportData(signer.addressBytes(), nonce));
    reportJson =
        ("{\"signing_address\":\""
                + signer.address()
                + "\",\"signing_algo\":\"ecdsa\",\"request_nonce\":\""
                + HexFormat.of().formatHex(nonce)
                + "\",\"intel_quote\":\""
                + q.quote().hex()
                + "\",\"nvidia_payload\":null,\"event_log\":"
                + new com.fasterxml.jackson.databind.ObjectMapper()
                    .writeValueAsString(q.eventLogJson())
                + ",\"info\":{}}")
            .getBytes(StandardCharsets.UTF_8);
    signatureJson =
        ("{\"text\":\""
                + signed.text()
                + "\",\"signature\":\""
                + signed.signature()
                + "\",\"signing_address\":\""
                + signed.signingAddress()
                + "\",\"signing_algo\":\"ecdsa\"}")
            .getBytes(StandardCharsets.UTF_8);
    Collateral collateral = tdx.collateral().toCollateral();
    verifier =
        new ResponseVerification(
            new ResponseVerification.Settings(
                new DcapQuoteVerifier(tdx.rootCertificate()),
                r -> collateral,
                Instant.now(),
                null,
                CHAT,
                false,
                Optional.of(Bytes.copyOf(nonce))));
    expected =
        ExpectedIdentity.explicit(
            Optional.empty(),
            Bytes.copyOf(SignedText.sha256(compose.getBytes(StandardCharsets.UTF_8))),
            Bytes.copyOf(osImage),
            java.util.Set.of(Bytes.copyOf(cvm.mrSystem())),
            QuotePolicy.builder().build(),
            GpuRequirement.NONE);
    if (!verifier.verify(expected, reportJson, signatureJson, request, response).valid()) {
      throw new IllegalStateException("benchmark setup does not verify");
    }
  }

  @TearDown
  public void tearDown() {
    signer.close();
  }

  @Benchmark
  public SignedResponse signExchange() {
    return signer.sign(CHAT, SignedText.sha256(request), SignedText.sha256(response));
  }

  @Benchmark
  public Object recoverSigner() {
    return SignedText.recover(signed.text(), signed.signature());
  }

  @Benchmark
  public boolean verifyResponseOffline() {
    return verifier.verify(expected, reportJson, signatureJson, request, response).valid();
  }
}
