package org.teekms.kms.seal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;
import java.util.Set;
import org.bouncycastle.crypto.params.X25519PrivateKeyParameters;
import org.teekms.attest.provider.QuoteProvider;
import org.teekms.attest.provider.QuoteProviderException;
import org.teekms.attest.tdx.DcapQuoteVerifier;
import org.teekms.attest.tdx.EnclaveReport;
import org.teekms.attest.tdx.QuoteParseException;
import org.teekms.attest.tdx.QuoteVerificationResult;
import org.teekms.attest.tdx.TcbStatus;
import org.teekms.attest.tdx.TdxQuote;
import org.teekms.attest.tdx.TeeType;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.crypto.Bytes;
import org.teekms.kms.seal.KeyProviderException.Reason;

/**
 * PRODUCTION sealing key from dstack's local key provider ({@code
 * teekms.sealing.provider=local-sgx}): an SGX enclave on the same host that verifies this TD's
 * quote and returns {@code SHA-256(SGX sealing key ‖ MRTD ‖ RTMR0..3)}, so only this measured KMS
 * image, on this machine, gets this key (protocol and checks: docs/sealing.md).
 *
 * <p>One request: a fresh X25519 key pair; this TD's quote with REPORTDATA = {@code pk ‖ 0^32}; the
 * framed request over TCP; then, in order, the response's framing, the provider's SGX quote (DCAP
 * under the trust anchor, accepted TCB status, not debug), its MRENCLAVE (pinned), its QE ID (equal
 * to this TD's: same machine), its REPORTDATA's first half ({@code SHA-256(encrypted_key)}), its
 * second half ({@code SHA-256("tee-kms/local-sgx/v2/td-quote" ‖ the quote this TD sent)}: the
 * provider derived the key for exactly this TD's quote, not one the host swapped in on the link;
 * checked once the box opened, so a replay keeps the reason below), after the sealed box opening
 * with this request's secret key to 32 bytes. A response recorded for another request (another TD,
 * or this TD earlier) fails the box. Every failure is a {@link KeyProviderException} with its
 * reason; no weaker key is ever returned.
 */
public final class LocalKeyProviderSealingKeyProvider implements SealingKeyProvider {

  /** The configuration value, as dstack names this provider kind in its key-provider event. */
  public static final String KIND = "local-sgx";

  /** Where the provider listens and what it must be. */
  public record Settings(
      String host,
      int port,
      Duration timeout,
      Bytes mrEnclave,
      Set<TcbStatus> acceptedTcbStatuses) {
    public Settings {
      Objects.requireNonNull(host, "provider host");
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("provider port " + port + " is outside 1..65535");
      }
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("provider timeout must be positive");
      }
      if (mrEnclave == null || mrEnclave.length() != 32) {
        throw new IllegalArgumentException("pinned MRENCLAVE must be 32 bytes");
      }
      acceptedTcbStatuses = Set.copyOf(acceptedTcbStatuses);
    }

    /**
     * Parses {@code host:port} and a 64-hex-digit MRENCLAVE, with a precise message for each
     * mistake.
     */
    public static Settings parse(
        String address, String mrEnclaveHex, Duration timeout, Set<TcbStatus> accepted) {
      int colon = address.lastIndexOf(':');
      if (colon <= 0 || colon == address.length() - 1) {
        throw new IllegalArgumentException(
            "teekms.sealing.provider-address '" + address + "' is not host:port");
      }
      int port;
      try {
        port = Integer.parseInt(address.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "teekms.sealing.provider-address '" + address + "' has no numeric port");
      }
      if (!mrEnclaveHex.matches("[0-9a-fA-F]{64}")) {
        throw new IllegalArgumentException(
            "teekms.sealing.provider-mrenclave must be 64 hex digits (32 bytes)");
      }
      return new Settings(
          address.substring(0, colon), port, timeout, Bytes.fromHex(mrEnclaveHex), accepted);
    }
  }

  private final Settings settings;
  private final QuoteProvider ownQuotes;
  private final DcapQuoteVerifier verifier;
  private final CollateralSource collateral;
  private final Clock clock;
  private final SecureRandom random;

  public LocalKeyProviderSealingKeyProvider(
      Settings settings,
      QuoteProvider ownQuotes,
      DcapQuoteVerifier verifier,
      CollateralSource collateral,
      Clock clock,
      SecureRandom random) {
    this.settings = settings;
    this.ownQuotes = ownQuotes;
    this.verifier = verifier;
    this.collateral = collateral;
    this.clock = clock;
    this.random = random;
  }

  @Override
  public SealingKey sealingKey() {
    X25519PrivateKeyParameters ephemeral = SodiumSealedBox.newRecipientKey(random);
    byte[] reportData = new byte[64];
    System.arraycopy(ephemeral.generatePublicKey().getEncoded(), 0, reportData, 0, 32);
    byte[] ownQuote;
    TdxQuote ownParsed;
    try {
      ownQuote = ownQuotes.quote(reportData);
      ownParsed = TdxQuote.parse(ownQuote);
    } catch (QuoteProviderException | QuoteParseException e) {
      throw new KeyProviderException(
          Reason.OWN_QUOTE_UNAVAILABLE, "this TD's quote: " + e.getMessage());
    }
    LocalKeyProviderProtocol.Response response = exchange(ownQuote);
    return accept(response, ownQuote, ownParsed, ephemeral);
  }

  private LocalKeyProviderProtocol.Response exchange(byte[] ownQuote) {
    int timeoutMs = (int) Math.min(Integer.MAX_VALUE, settings.timeout().toMillis());
    String where = settings.host() + ":" + settings.port();
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(settings.host(), settings.port()), timeoutMs);
      socket.setSoTimeout(timeoutMs);
      OutputStream out = socket.getOutputStream();
      out.write(LocalKeyProviderProtocol.requestFrame(ownQuote));
      out.flush();
      InputStream in = socket.getInputStream();
      return LocalKeyProviderProtocol.readResponse(in);
    } catch (SocketTimeoutException e) {
      throw new KeyProviderException(
          Reason.PROVIDER_UNREACHABLE,
          "key provider at " + where + " did not answer within " + settings.timeout());
    } catch (IOException e) {
      throw new KeyProviderException(
          Reason.PROVIDER_UNREACHABLE, "key provider at " + where + ": " + e);
    }
  }

  /**
   * Every check on a response, in the documented order. Package-private so tests can feed recorded
   * responses.
   */
  SealingKey accept(
      LocalKeyProviderProtocol.Response response,
      byte[] ownQuoteBytes,
      TdxQuote ownQuote,
      X25519PrivateKeyParameters ephemeral) {
    byte[] encryptedKey = response.encryptedKey().toByteArray();
    if (encryptedKey.length != SodiumSealedBox.OVERHEAD + SealingKey.KEY_LENGTH) {
      throw new KeyProviderException(
          Reason.PROTOCOL,
          "encrypted_key is "
              + encryptedKey.length
              + " bytes, expected "
              + (SodiumSealedBox.OVERHEAD + SealingKey.KEY_LENGTH));
    }
    TdxQuote providerQuote;
    try {
      providerQuote = TdxQuote.parse(response.providerQuote().toByteArray());
    } catch (QuoteParseException e) {
      throw new KeyProviderException(
          Reason.PROVIDER_QUOTE_INVALID, "provider_quote does not parse: " + e.getMessage());
    }
    if (providerQuote.teeType() != TeeType.SGX) {
      throw new KeyProviderException(
          Reason.PROVIDER_QUOTE_INVALID,
          "provider_quote is a " + providerQuote.teeType() + " quote, expected SGX");
    }
    Instant now = clock.instant();
    QuoteVerificationResult verified = verifier.verify(providerQuote, collateral, now);
    if (!verified.valid()) {
      throw new KeyProviderException(
          Reason.PROVIDER_QUOTE_INVALID, verified.failure() + ": " + verified.error());
    }
    if (!settings.acceptedTcbStatuses().contains(verified.status())) {
      throw new KeyProviderException(
          Reason.PROVIDER_QUOTE_NOT_ACCEPTED,
          "provider platform TCB status "
              + verified.status()
              + " is not in "
              + settings.acceptedTcbStatuses());
    }
    EnclaveReport enclave = providerQuote.enclaveReport();
    if (enclave.debug()) {
      throw new KeyProviderException(
          Reason.PROVIDER_QUOTE_NOT_ACCEPTED, "provider enclave runs in debug mode");
    }
    if (!enclave.mrEnclave().equals(settings.mrEnclave())) {
      throw new KeyProviderException(
          Reason.MRENCLAVE_MISMATCH,
          "provider MRENCLAVE "
              + enclave.mrEnclave().hex()
              + " is not the pinned "
              + settings.mrEnclave().hex());
    }
    Bytes providerQe = providerQuote.header().qeId();
    Bytes ownQe = ownQuote.header().qeId();
    if (!providerQe.equals(ownQe)) {
      throw new KeyProviderException(
          Reason.DIFFERENT_PLATFORM,
          "provider quote's QE ID "
              + providerQe.hex()
              + " differs from this TD's "
              + ownQe.hex()
              + ": the provider is not on this machine");
    }
    byte[] expected = LocalKeyProviderProtocol.providerReportData(encryptedKey, ownQuoteBytes);
    byte[] actual = enclave.reportData().toByteArray();
    if (!MessageDigest.isEqual(Arrays.copyOf(expected, 32), Arrays.copyOf(actual, 32))) {
      throw new KeyProviderException(
          Reason.KEY_NOT_BOUND, "provider REPORTDATA[0..32] is not SHA-256(encrypted_key)");
    }
    byte[] key;
    try {
      key = SodiumSealedBox.open(encryptedKey, ephemeral);
    } catch (SealingException e) {
      throw new KeyProviderException(
          Reason.KEY_NOT_FOR_THIS_REQUEST,
          "the sealed key does not open with this "
              + "request's ephemeral key (a response for another request or another TD): "
              + e.getMessage());
    }
    try {
      if (key.length != SealingKey.KEY_LENGTH) {
        throw new KeyProviderException(
            Reason.KEY_NOT_FOR_THIS_REQUEST,
            "the sealed key is " + key.length + " bytes, expected 32");
      }
      // Checked after the box opened, so that a replayed response keeps its more precise reason
      // above.
      if (!MessageDigest.isEqual(
          Arrays.copyOfRange(expected, 32, 64), Arrays.copyOfRange(actual, 32, 64))) {
        throw new KeyProviderException(
            Reason.QUOTE_NOT_BOUND,
            "provider REPORTDATA[32..64] is not SHA-256(\""
                + LocalKeyProviderProtocol.QUOTE_BINDING_DOMAIN
                + "\" ‖ this TD's quote): the provider derived the key for "
                + "another TD quote (substituted on the link to the provider), or it does not implement the tee-kms quote "
                + "binding (docs/sealing.md)");
      }
      return new SealingKey(key);
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }

  @Override
  public boolean simulated() {
    return false;
  }

  @Override
  public String describe() {
    return "sealing key from the local SGX key provider at "
        + settings.host()
        + ":"
        + settings.port()
        + " (MRENCLAVE "
        + settings.mrEnclave().hex()
        + ", same-QE check, reply bound to this TD's quote, key bound to its MRTD and RTMR0..3)";
  }
}
