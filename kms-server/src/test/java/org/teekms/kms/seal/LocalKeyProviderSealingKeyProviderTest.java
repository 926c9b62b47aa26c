package org.teekms.kms.seal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import java.util.Set;
import org.bouncycastle.crypto.params.X25519PrivateKeyParameters;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.teekms.attest.provider.QuoteProviderException;
import org.teekms.attest.sim.SimulatedCvm;
import org.teekms.attest.sim.SimulatedTdx;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.TcbStatus;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.crypto.Bytes;
import org.teekms.kms.seal.KeyProviderException.Reason;

class LocalKeyProviderSealingKeyProviderTest {

  static final HexFormat HEX = HexFormat.of();
  static final SimulatedTdx TDX = SimulatedTdx.enable("local key provider test", Clock.systemUTC());
  static final byte[] MRENCLAVE = HEX.parseHex("a1".repeat(32));

  FakeLocalKeyProvider fake;
  SimulatedCvm cvm;

  @BeforeEach
  void start() throws Exception {
    fake = new FakeLocalKeyProvider(TDX, MRENCLAVE, 42);
    cvm = bootCvm(TDX, 0x11);
  }

  @AfterEach
  void stop() throws IOException {
    fake.close();
  }

  static SimulatedCvm bootCvm(SimulatedTdx platform, int mrTdByte) throws QuoteProviderException {
    byte[] mrTd = new byte[48];
    Arrays.fill(mrTd, (byte) mrTdByte);
    return platform
        .newCvm(mrTd, false)
        .boot(SimulatedCvm.App.ofCompose("services: {kms: {}}", new byte[20]));
  }

  LocalKeyProviderSealingKeyProvider provider(
      int port, byte[] pinned, org.teekms.attest.provider.QuoteProvider quotes) {
    var settings =
        new LocalKeyProviderSealingKeyProvider.Settings(
            "127.0.0.1",
            port,
            Duration.ofSeconds(2),
            Bytes.copyOf(pinned),
            Set.of(TcbStatus.UpToDate));
    return new LocalKeyProviderSealingKeyProvider(
        settings,
        quotes,
        new DcapQuoteVerifier(TDX.rootCertificate()),
        TDX.collateralSource(),
        Clock.systemUTC(),
        new SecureRandom());
  }

  LocalKeyProviderSealingKeyProvider provider() {
    return provider(fake.port(), MRENCLAVE, cvm);
  }

  static KeyProviderException refused(Reason reason, LocalKeyProviderSealingKeyProvider p) {
    KeyProviderException e = assertThrows(KeyProviderException.class, p::sealingKey);
    assertEquals(reason, e.reason(), e.getMessage());
    assertTrue(e.getMessage().startsWith(reason + ": "), e.getMessage());
    return e;
  }

  @Test
  void happyPathYieldsTheKeyBoundToThisTdsMeasurementsStableAcrossRequests() throws Exception {
    SealingKey key = provider().sealingKey();
    byte[] expected = fake.expectedKey(TdxQuote.parse(cvm.quote(new byte[64])).tdReport());
    assertEquals(new SealingKey(expected).keyId(), key.keyId());
    byte[] blob = key.seal(new byte[] {1, 2, 3}, new byte[0]);
    assertArrayEquals(new byte[] {1, 2, 3}, new SealingKey(expected).unseal(blob, new byte[0]));
    assertEquals(
        key.keyId(), provider().sealingKey().keyId(), "a restart of the same TD gets the same key");
    assertFalse(key.toString().contains(HEX.formatHex(expected)), "never prints key bytes");

    SimulatedCvm otherImage = bootCvm(TDX, 0x22);
    assertNotEquals(
        key.keyId(),
        provider(fake.port(), MRENCLAVE, otherImage).sealingKey().keyId(),
        "another MRTD gets another key");
    assertFalse(provider().describe().contains(HEX.formatHex(expected)));
  }

  @Test
  void wrongMrenclaveIsRefused() {
    byte[] other = MRENCLAVE.clone();
    other[31] ^= 1;
    KeyProviderException e = refused(Reason.MRENCLAVE_MISMATCH, provider(fake.port(), other, cvm));
    assertTrue(e.getMessage().contains(HEX.formatHex(MRENCLAVE)), e.getMessage());
  }

  @Test
  void unreachableAndSilentProvidersAreRefusedWithTheAddress() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    KeyProviderException e =
        refused(Reason.PROVIDER_UNREACHABLE, provider(closedPort, MRENCLAVE, cvm));
    assertTrue(e.getMessage().contains("127.0.0.1:" + closedPort), e.getMessage());

    try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      var p =
          new LocalKeyProviderSealingKeyProvider(
              new LocalKeyProviderSealingKeyProvider.Settings(
                  "127.0.0.1",
                  silent.getLocalPort(),
                  Duration.ofMillis(300),
                  Bytes.copyOf(MRENCLAVE),
                  Set.of(TcbStatus.UpToDate)),
              cvm,
              new DcapQuoteVerifier(TDX.rootCertificate()),
              TDX.collateralSource(),
              Clock.systemUTC(),
              new SecureRandom());
      KeyProviderException timeout = refused(Reason.PROVIDER_UNREACHABLE, p);
      assertTrue(
          timeout.getMessage().contains("did not answer within PT0.3S"), timeout.getMessage());
    }
  }

  @Test
  void ownQuoteFailureIsRefused() {
    refused(
        Reason.OWN_QUOTE_UNAVAILABLE,
        provider(
            fake.port(),
            MRENCLAVE,
            reportData -> {
              throw new QuoteProviderException("configfs-tsm: no TDX guest device");
            }));
  }

  @Test
  void truncatedOversizedAndMutatedResponsesAreRefusedWithTheirReason() {
    fake.tamper.set(f -> Arrays.copyOf(f, f.length - 7));
    assertTrue(refused(Reason.PROTOCOL, provider()).getMessage().contains("truncated"));

    fake.tamper.set(
        f ->
            ByteBuffer.allocate(8).putInt(LocalKeyProviderProtocol.MAX_RESPONSE_FRAME + 1).array());
    assertTrue(refused(Reason.PROTOCOL, provider()).getMessage().contains("outside 1..262144"));

    fake.tamper.set(
        f -> withJson(f, j -> j.replace("{\"encrypted_key\"", "{\"extra\":[],\"encrypted_key\"")));
    assertTrue(refused(Reason.PROTOCOL, provider()).getMessage().contains("unknown field 'extra'"));

    fake.tamper.set(
        f -> withJson(f, j -> j.replace("\"encrypted_key\":[", "\"encrypted_key\":[256,")));
    assertTrue(refused(Reason.PROTOCOL, provider()).getMessage().contains("not a byte"));

    fake.tamper.set(
        f -> withJson(f, j -> j.replace("\"encrypted_key\":[", "\"encrypted_key\":[7,")));
    assertTrue(
        refused(Reason.PROTOCOL, provider()).getMessage().contains("encrypted_key is 81 bytes"));

    // One byte of the sealed key changed: the provider's quote no longer commits to it.
    fake.tamper.set(
        f ->
            withJson(
                f,
                j -> {
                  int start = j.indexOf('[') + 1;
                  int end = j.indexOf(',', start);
                  int first = Integer.parseInt(j.substring(start, end));
                  return j.substring(0, start) + ((first + 1) % 256) + j.substring(end);
                }));
    refused(Reason.KEY_NOT_BOUND, provider());

    // A byte of the SGX report body (inside the signed region) changed: not genuine.
    fake.tamper.set(
        f ->
            withJson(
                f,
                j -> {
                  int q = j.indexOf("\"provider_quote\":[") + "\"provider_quote\":[".length();
                  String[] bytes = j.substring(q, j.length() - 2).split(",");
                  bytes[48 + 100] = Integer.toString((Integer.parseInt(bytes[48 + 100]) + 1) % 256);
                  return j.substring(0, q) + String.join(",", bytes) + "]}";
                }));
    refused(Reason.PROVIDER_QUOTE_INVALID, provider());
  }

  @Test
  void replayedResponseForAnotherRequestIsRefused() throws Exception {
    provider().sealingKey();
    byte[] recorded = fake.lastFrame.get();
    fake.tamper.set(f -> recorded);
    KeyProviderException same = refused(Reason.KEY_NOT_FOR_THIS_REQUEST, provider());
    assertTrue(same.getMessage().contains("another request"), same.getMessage());
    refused(Reason.KEY_NOT_FOR_THIS_REQUEST, provider(fake.port(), MRENCLAVE, bootCvm(TDX, 0x33)));
  }

  /**
   * The host swaps the KMS's quote for one from its own TD on the same machine with the same
   * REPORTDATA: the provider derives the attacker's key and seals it to the KMS. Accepting it would
   * hand the host the sealing key (its TD asks the provider for its own key later); the provider's
   * quote binds the TD quote it derived for, so it is refused.
   */
  @Test
  void hostSubstitutingItsOwnTdsQuoteOnTheProviderLinkIsRefused() throws Exception {
    SimulatedCvm attackerTd = bootCvm(TDX, 0x66);
    try (QuoteSubstitutingHost host = new QuoteSubstitutingHost(fake.port(), attackerTd)) {
      LocalKeyProviderSealingKeyProvider kms = provider(host.port(), MRENCLAVE, cvm);
      SealingKey leaked = null;
      try {
        leaked = kms.sealingKey();
      } catch (KeyProviderException refusedAsItMust) {
        assertEquals(
            Reason.QUOTE_NOT_BOUND, refusedAsItMust.reason(), refusedAsItMust.getMessage());
      }
      assertTrue(host.substituted.get(), "the provider answered the substituted request");
      if (leaked != null) {
        byte[] attackerKey =
            fake.expectedKey(TdxQuote.parse(attackerTd.quote(new byte[64])).tdReport());
        fail(
            "the KMS accepted a sealing key the host can obtain (equal to the attacker TD's own key: "
                + leaked.keyId().equals(new SealingKey(attackerKey).keyId())
                + ")");
      }
    }
  }

  @Test
  void aProviderWithoutTheQuoteBindingIsRefused() {
    fake.bindQuote =
        false; // dstack's provider as released: REPORTDATA = SHA-256(encrypted_key) ‖ 0^32
    KeyProviderException e = refused(Reason.QUOTE_NOT_BOUND, provider());
    assertTrue(
        e.getMessage().contains("does not implement the tee-kms quote binding"), e.getMessage());
  }

  /** The documented provider REPORTDATA vector (docs/sealing.md §2). */
  @Test
  void providerReportDataMatchesTheDocumentedVector() {
    // Independently: python3 -c "import hashlib; print(hashlib.sha256(bytes([1,2])).hexdigest()
    //   + hashlib.sha256(b'tee-kms/local-sgx/v2/td-quote' + bytes([1,2,3,255])).hexdigest())"
    assertEquals(
        "a12871fee210fb8619291eaea194581cbd2531e4b23759d225f6806923f63222"
            + "69d301efea7ad451053bdc12ec48791aa0f993a7c1260b48370e81b9de7320aa",
        HEX.formatHex(
            LocalKeyProviderProtocol.providerReportData(
                new byte[] {1, 2}, new byte[] {1, 2, 3, (byte) 255})));
  }

  @Test
  void providerOnAnotherMachineIsRefused() throws Exception {
    SimulatedTdx otherMachine = SimulatedTdx.enable("another host", Clock.systemUTC());
    SimulatedCvm remoteTd = bootCvm(otherMachine, 0x11);
    X25519PrivateKeyParameters eph = SodiumSealedBox.newRecipientKey(new SecureRandom());
    // The response is genuine and for a TD with this key; but that TD's quote and the provider's
    // differ in QE ID.
    byte[] ownRaw = cvm.quote(reportData(eph));
    byte[] frame = fake.respond(ownRaw);
    byte[] remoteRaw = remoteTd.quote(reportData(eph));
    TdxQuote remoteQuote = TdxQuote.parse(remoteRaw);
    KeyProviderException e =
        assertThrows(
            KeyProviderException.class,
            () ->
                provider()
                    .accept(
                        LocalKeyProviderProtocol.readResponse(new ByteArrayInputStream(frame)),
                        remoteRaw,
                        remoteQuote,
                        eph));
    assertEquals(Reason.DIFFERENT_PLATFORM, e.reason(), e.getMessage());
    // The same response with the right TD's quote is accepted: the refusal above is the QE check
    // alone.
    provider()
        .accept(
            LocalKeyProviderProtocol.readResponse(new ByteArrayInputStream(frame)),
            ownRaw,
            TdxQuote.parse(ownRaw),
            eph);
  }

  @Test
  void seededMutationsOfAResponseNeverYieldAKeyNorAnUncheckedException() throws Exception {
    X25519PrivateKeyParameters eph = SodiumSealedBox.newRecipientKey(new SecureRandom());
    byte[] ownQuote = cvm.quote(reportData(eph));
    byte[] frame = fake.respond(ownQuote);
    TdxQuote own = TdxQuote.parse(ownQuote);
    LocalKeyProviderSealingKeyProvider p = provider();
    p.accept(
        LocalKeyProviderProtocol.readResponse(new ByteArrayInputStream(frame)),
        ownQuote,
        own,
        eph); // passes
    Random random = new Random(7);
    for (int i = 0; i < 300; i++) {
      byte[] m = frame.clone();
      int flips = 1 + random.nextInt(3);
      for (int k = 0; k < flips; k++) {
        int at = random.nextInt(m.length);
        m[at] = (byte) (m[at] ^ (1 << random.nextInt(8)));
      }
      if (Arrays.equals(m, frame)) {
        continue;
      }
      try {
        p.accept(
            LocalKeyProviderProtocol.readResponse(new ByteArrayInputStream(m)), ownQuote, own, eph);
        fail("mutation " + i + " was accepted");
      } catch (KeyProviderException expected) {
        assertTrue(expected.getMessage().startsWith(expected.reason() + ": "));
      } catch (IOException unexpected) {
        fail("mutation " + i + ": " + unexpected);
      }
    }
  }

  /**
   * The documented vectors (docs/sealing.md): frames byte for byte, and libsodium's own sealed-box
   * vector.
   */
  @Test
  void wireFramesAndSealedBoxMatchTheDocumentedVectors() throws Exception {
    assertEquals(
        "00000015" + HEX.formatHex("{\"quote\":[1,2,3,255]}".getBytes(StandardCharsets.US_ASCII)),
        HEX.formatHex(LocalKeyProviderProtocol.requestFrame(new byte[] {1, 2, 3, (byte) 255})));
    byte[] response =
        LocalKeyProviderProtocol.responseFrame(
            new LocalKeyProviderProtocol.Response(new byte[] {1, 2}, new byte[] {3, 4}));
    assertEquals(
        "0000002e"
            + HEX.formatHex(
                "{\"encrypted_key\":[1,2],\"provider_quote\":[3,4]}"
                    .getBytes(StandardCharsets.US_ASCII)),
        HEX.formatHex(response));
    var parsed = LocalKeyProviderProtocol.readResponse(new ByteArrayInputStream(response));
    assertArrayEquals(new byte[] {1, 2}, parsed.encryptedKey().toByteArray());
    assertArrayEquals(new byte[] {3, 4}, parsed.providerQuote().toByteArray());

    // libsodium crypto_box_seal vector (as published in Dstack-TEE/dstack sodiumbox tests).
    var sk =
        new X25519PrivateKeyParameters(
            HEX.parseHex("25f44372820ad73ca79d1e33d02c044c86e3e0a879a8ee9b9640459f9c95a8c4"), 0);
    assertEquals(
        "ef3f98a8930de673a9b2f1c6fc482198d96e9254e497d9589b6bbc16edd56f1f",
        HEX.formatHex(sk.generatePublicKey().getEncoded()));
    byte[] sealed =
        HEX.parseHex(
            "5dc724bd8d6487f5e7984b1fd1a29cf4d125e34354034fa5e2af0a129a93ad17"
                + "28d05e60457bbb7fe2773cc5687d7511204b055437135275"
                + "58b200cf2d83b847ee1f2b8f321029877081"
                + "96b13b2d478dc8cdae26c7");
    assertEquals(
        "This is a test message for sealed box",
        new String(SodiumSealedBox.open(sealed, sk), StandardCharsets.US_ASCII));
    sealed[60] ^= 1;
    assertThrows(SealingException.class, () -> SodiumSealedBox.open(sealed, sk));
    // Round trip through our own seal.
    byte[] msg = "k".repeat(32).getBytes(StandardCharsets.US_ASCII);
    assertArrayEquals(
        msg,
        SodiumSealedBox.open(
            SodiumSealedBox.seal(
                msg,
                sk.generatePublicKey().getEncoded(),
                SodiumSealedBox.newRecipientKey(new SecureRandom())),
            sk));
  }

  @Test
  void settingsParseStrictly() {
    var ok =
        LocalKeyProviderSealingKeyProvider.Settings.parse(
            "10.0.2.2:3443", "ab".repeat(32), Duration.ofSeconds(5), Set.of(TcbStatus.UpToDate));
    assertEquals("10.0.2.2", ok.host());
    assertEquals(3443, ok.port());
    assertThrows(
        IllegalArgumentException.class,
        () ->
            LocalKeyProviderSealingKeyProvider.Settings.parse(
                "host", "ab".repeat(32), Duration.ofSeconds(5), Set.of()));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            LocalKeyProviderSealingKeyProvider.Settings.parse(
                "h:99999", "ab".repeat(32), Duration.ofSeconds(5), Set.of()));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            LocalKeyProviderSealingKeyProvider.Settings.parse(
                "h:1", "ab".repeat(31), Duration.ofSeconds(5), Set.of()));
  }

  static byte[] reportData(X25519PrivateKeyParameters eph) {
    return Arrays.copyOf(eph.generatePublicKey().getEncoded(), 64);
  }

  static byte[] withJson(byte[] frame, java.util.function.UnaryOperator<String> edit) {
    String json = edit.apply(new String(frame, 4, frame.length - 4, StandardCharsets.US_ASCII));
    byte[] payload = json.getBytes(StandardCharsets.US_ASCII);
    return ByteBuffer.allocate(4 + payload.length).putInt(payload.length).put(payload).array();
  }
}
