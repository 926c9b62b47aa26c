package org.teekms.agent.proxy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.teekms.agent.keys.AgentKeys;
import org.teekms.keys.DerivedKey;
import org.teekms.keys.Ed25519SigningKey;
import org.teekms.keys.KeyAlgorithm;
import org.teekms.keys.Secp256k1SigningKey;
import org.teekms.verifier.SignedText;
import org.teekms.verifier.SignerIdentity;

/**
 * Signs proxied exchanges with the app's response-signing key (secp256k1, purpose {@code signing},
 * derived from the app root secret of the current key version: the same key after every restart, a
 * new one when the version rotates) and, when built {@link #forAgent for an agent}, also with the
 * Ed25519 key of the same path and version.
 *
 * <p>It also knows the signers it can {@link #attestable attest}: the current version's, and those
 * of the older key versions the KMS still released (down to the app's minimum version), so that a
 * response signed before a rotation can still be checked against a fresh report of its signer.
 * Older versions' private keys are not kept: their addresses are computed once and the keys
 * destroyed.
 */
public final class ResponseSigner implements AutoCloseable {
  /**
   * A signer this proxy can attest: its key version (0 when unknown), algorithm and address as
   * served.
   */
  public record Attestable(int version, String algo, String address) {
    /** The identity the report's REPORTDATA binds. */
    public SignerIdentity identity() {
      return SignerIdentity.parse(algo, address).orElseThrow();
    }
  }

  private final Secp256k1SigningKey key;
  private final Ed25519SigningKey ed25519; // null: signs with ECDSA only
  private final String address;
  private final SignedText.Format format;
  private final List<Attestable> attestable;

  /** Takes ownership of {@code key}; signs the v2 text (method, request-target and both bodies). */
  public ResponseSigner(DerivedKey key) {
    this(key, SignedText.Format.V2);
  }

  /**
   * Takes ownership of {@code key}; {@code format} NEAR signs only {@code
   * request_hash:response_hash}.
   */
  public ResponseSigner(DerivedKey key, SignedText.Format format) {
    this(key, null, format, List.of());
  }

  private ResponseSigner(
      DerivedKey key, DerivedKey ed25519Key, SignedText.Format format, List<Attestable> older) {
    this.key = key.secp256k1Signer(); // shares the key's secret: close() zeroizes it
    this.ed25519 = ed25519Key == null ? null : ed25519Key.ed25519Signer();
    this.address = this.key.address().toChecksumString();
    this.format = Objects.requireNonNull(format);
    List<Attestable> all = new ArrayList<>();
    all.add(new Attestable(key.request().version(), SignedText.SIGNING_ALGO, address));
    if (ed25519 != null) {
      all.add(
          new Attestable(key.request().version(), SignedText.ED25519, hex(ed25519.publicKey())));
    }
    all.addAll(older);
    this.attestable = List.copyOf(all);
  }

  /**
   * The signer of an agent: the current version's secp256k1 and Ed25519 response-signing keys sign;
   * every older released version's two addresses stay attestable.
   */
  public static ResponseSigner forAgent(AgentKeys keys, SignedText.Format format) {
    List<Attestable> older = new ArrayList<>();
    for (AgentKeys.VersionKeys v : keys.versions().descendingMap().values()) {
      if (v.version() == keys.currentVersion() || v.version() < keys.minVersion()) {
        continue;
      }
      try (DerivedKey k =
              v.deriver().signingKey(KeyAlgorithm.SECP256K1, AgentKeys.RESPONSE_SIGNING_PATH);
          DerivedKey e =
              v.deriver().signingKey(KeyAlgorithm.ED25519, AgentKeys.RESPONSE_SIGNING_PATH)) {
        older.add(
            new Attestable(
                v.version(), SignedText.SIGNING_ALGO, k.ethereumAddress().toChecksumString()));
        older.add(new Attestable(v.version(), SignedText.ED25519, hex(e.publicKey())));
      }
    }
    return new ResponseSigner(
        keys.responseSigningKey(),
        keys.current().deriver().signingKey(KeyAlgorithm.ED25519, AgentKeys.RESPONSE_SIGNING_PATH),
        format,
        older);
  }

  public SignedText.Format format() {
    return format;
  }

  /** EIP-55 address of the signing key. */
  public String address() {
    return address;
  }

  public byte[] addressBytes() {
    return key.address().toBytes();
  }

  /**
   * The signers a report may attest, the current version's first (ECDSA, then Ed25519), then older
   * versions'.
   */
  public List<Attestable> attestable() {
    return attestable;
  }

  /**
   * The signer a report is asked for: {@code algo} ({@code ecdsa} when null) and {@code address}
   * (the current version's when null; compared by value, so any hex case of an Ethereum address).
   * Empty when this proxy does not hold that signer.
   */
  public Optional<Attestable> find(String algo, String address) {
    String a = algo == null ? SignedText.SIGNING_ALGO : algo;
    Optional<SignerIdentity> wanted =
        address == null ? Optional.empty() : SignerIdentity.parse(a, address);
    if (address != null && wanted.isEmpty()) {
      return Optional.empty();
    }
    return attestable.stream()
        .filter(x -> x.algo().equals(a))
        .filter(x -> wanted.isEmpty() || x.identity().equals(wanted.get()))
        .findFirst();
  }

  /** Whether the proxy signs with {@code algo}. */
  public boolean signsWith(String algo) {
    return SignedText.SIGNING_ALGO.equals(algo)
        || (SignedText.ED25519.equals(algo) && ed25519 != null);
  }

  public SignedResponse sign(
      SignedText.Endpoint endpoint, byte[] requestSha256, byte[] responseSha256) {
    return sign(endpoint, null, requestSha256, responseSha256);
  }

  /**
   * Signs the text of {@link #format}; {@code model} is the request's model id (needed by the
   * near-model text).
   */
  public SignedResponse sign(
      SignedText.Endpoint endpoint, String model, byte[] requestSha256, byte[] responseSha256) {
    String text = SignedText.text(format, endpoint, model, requestSha256, responseSha256);
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    String sig = SignedText.encodeSignature(key.signPersonalMessage(bytes));
    Optional<SignedResponse.Ed25519> ed =
        ed25519 == null
            ? Optional.empty()
            : Optional.of(
                new SignedResponse.Ed25519(hex(ed25519.sign(bytes)), hex(ed25519.publicKey())));
    return new SignedResponse(text, sig, address, SignedText.SIGNING_ALGO, ed);
  }

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }

  @Override
  public void close() {
    key.destroy();
    if (ed25519 != null) {
      ed25519.destroy();
    }
  }
}
