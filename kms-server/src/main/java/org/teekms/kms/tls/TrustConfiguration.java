package org.teekms.kms.tls;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Function;
import org.teekms.crypto.Digests;
import org.teekms.kms.wiring.KmsConfig;

/**
 * Everything in this KMS's configuration that decides whom it trusts, as one canonical document and
 * its SHA-256 (docs/trust-config.md). At startup the digest is measured into RTMR3 as the runtime
 * event {@code teekms-trust-config} ({@link TrustConfigMeasurement}) before the node quotes,
 * unseals or serves anything, so a node started with another chain, registry, RPC endpoint, root of
 * trust, provider pin or profile has another measurement (mrAggregated), which the registry's
 * {@code isKmsAllowed} refuses, and another sealing key.
 *
 * <p>To measure a new key, add one line to {@link #MEASURED} (its value normalised so that equal
 * meanings encode equally; a list sorted, a file by its content's digest) and the row to
 * docs/trust-config.md. Adding a key changes every node's measurement: registries must register the
 * new one.
 */
public final class TrustConfiguration {

  /** The RTMR3 runtime event name (dstack runtime event, version 1 digest). */
  public static final String EVENT_NAME =
      org.teekms.attest.eventlog.DstackBootSequence.TRUST_CONFIG;

  /** First line of the canonical document. */
  public static final String HEADER = "teekms-trust-config/v1";

  /**
   * What a measured value is computed from: the mapped configuration and the active Quarkus
   * profile(s).
   */
  public record Inputs(KmsConfig config, String profile) {}

  /** One measured key: its configuration name and its canonical value. */
  public record MeasuredKey(String name, Function<Inputs, String> value) {}

  /**
   * Every measured key, one line each (docs/trust-config.md says why each is measured and why
   * others are not).
   */
  public static final List<MeasuredKey> MEASURED =
      List.of(
          key("quarkus.profile", in -> in.profile()),
          key("teekms.kms-id", in -> in.config().kmsId()),
          key("teekms.simulator.enabled", in -> String.valueOf(in.config().simulator().enabled())),
          key("teekms.simulator.seed", in -> lower(in.config().simulator().seed())),
          key("teekms.tee.quote-provider", in -> RaTlsSetup.quoteProvider(in.config())),
          key("teekms.collateral.pccs-url", in -> in.config().collateral().pccsUrl().orElse("")),
          key(
              "teekms.collateral.root-ca",
              in -> fileDigest("teekms.collateral.root-ca", in.config().collateral().rootCa())),
          key("teekms.collateral.max-age", in -> duration(in.config().collateral().maxAge())),
          key(
              "teekms.ratls.max-certificate-lifetime",
              in -> duration(in.config().ratls().maxCertificateLifetime())),
          key(
              "teekms.ratls.identity-cache-ttl",
              in -> duration(in.config().ratls().identityCacheTtl())),
          key(
              "teekms.ratls.clock-skew-allowance",
              in -> duration(in.config().ratls().clockSkewAllowance())),
          key("teekms.gpu.verification", in -> in.config().gpu().verification().orElse("")),
          key(
              "teekms.gpu.device-root-ca",
              in -> fileDigest("teekms.gpu.device-root-ca", in.config().gpu().deviceRootCa())),
          key(
              "teekms.gpu.rim-root-ca",
              in -> fileDigest("teekms.gpu.rim-root-ca", in.config().gpu().rimRootCa())),
          key("teekms.gpu.ocsp.responder-url", in -> in.config().gpu().ocsp().responderUrl()),
          key("teekms.gpu.ocsp.mode", in -> in.config().gpu().ocsp().mode()),
          key("teekms.gpu.ocsp.max-age", in -> duration(in.config().gpu().ocsp().maxAge())),
          key(
              "teekms.admission.accepted-tcb-statuses",
              in -> sorted(in.config().admission().acceptedTcbStatuses())),
          key(
              "teekms.admission.accepted-advisories",
              in -> sorted(in.config().admission().acceptedAdvisories().orElse(List.of()))),
          key(
              "teekms.admission.required-key-provider",
              in -> in.config().admission().requiredKeyProvider().orElse("")),
          key("teekms.sealing.provider", in -> in.config().sealing().provider()),
          key(
              "teekms.sealing.provider-mrenclave",
              in -> lower(in.config().sealing().providerMrenclave())),
          key(
              "teekms.sealing.provider-accepted-tcb-statuses",
              in -> sorted(in.config().sealing().providerAcceptedTcbStatuses())),
          key("teekms.sealing.collateral-url", in -> in.config().sealing().collateralUrl()),
          key("teekms.chain.rpc-url", in -> in.config().chain().rpcUrl().orElse("")),
          key(
              "teekms.chain.rpc-urls",
              in -> sorted(in.config().chain().rpcUrls().orElse(List.of()))),
          key(
              "teekms.chain.quorum",
              in -> in.config().chain().quorum().map(String::valueOf).orElse("majority")),
          key(
              "teekms.chain.allow-single-rpc",
              in -> String.valueOf(in.config().chain().allowSingleRpc())),
          key("teekms.chain.max-block-age", in -> duration(in.config().chain().maxBlockAge())),
          key("teekms.chain.chain-id", in -> String.valueOf(in.config().chain().chainId())),
          key("teekms.chain.registry-address", in -> lower(in.config().chain().registryAddress())),
          key(
              "teekms.chain.confirmations",
              in -> String.valueOf(in.config().chain().confirmations())),
          key("teekms.chain.pin-reuse", in -> duration(in.config().chain().pinReuse())),
          key("teekms.rotation.root-grace", in -> duration(in.config().rotation().rootGrace())),
          key("teekms.operator.max-skew", in -> duration(in.config().operator().maxSkew())));

  private final SortedMap<String, String> values;
  private final byte[] document;

  private TrustConfiguration(SortedMap<String, String> values) {
    this.values = values;
    StringBuilder text = new StringBuilder(HEADER).append('\n');
    values.forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
    this.document = text.toString().getBytes(StandardCharsets.UTF_8);
  }

  /**
   * The measured values of this node's configuration; IllegalStateException with the key's name if
   * one is unusable.
   */
  public static TrustConfiguration of(KmsConfig config, String profile) {
    Inputs in = new Inputs(config, profile);
    SortedMap<String, String> values = new TreeMap<>();
    for (MeasuredKey k : MEASURED) {
      values.put(k.name(), k.value().apply(in));
    }
    // Root custody decides to whom every root is split: a host that could point the KMS at its own
    // custody contract
    // (its own custodians) or lower the threshold would collect the root. Measured only when
    // enabled, so that nodes
    // without custody keep their measurement (and the documented vector).
    KmsConfig.Custody custody = config.custody();
    if (custody.enabled()) {
      values.put("teekms.custody.enabled", "true");
      values.put("teekms.custody.contract-address", lower(custody.contractAddress()));
      values.put("teekms.custody.threshold", custody.threshold().map(String::valueOf).orElse(""));
      values.put("teekms.custody.require-published", String.valueOf(custody.requirePublished()));
      // Only when set: a recovering node's measurement says which generation it recovers, and nodes
      // that recover
      // nothing keep theirs.
      custody
          .recoverGeneration()
          .ifPresent(g -> values.put("teekms.custody.recover-generation", String.valueOf(g)));
    }
    return of(values);
  }

  /**
   * The canonical form of given name → value pairs (the test vector's entry point). Names are
   * printable ASCII without {@code =}; values are UTF-8 without control characters (a newline would
   * make two documents encode alike).
   */
  public static TrustConfiguration of(Map<String, String> values) {
    SortedMap<String, String> sorted = new TreeMap<>(); // String order = byte order for ASCII names
    values.forEach(
        (k, v) -> {
          if (k.isEmpty() || !k.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != '=')) {
            throw new IllegalStateException(
                "trust configuration key '" + k + "' is not printable ASCII without '='");
          }
          if (v == null || v.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new IllegalStateException(
                k
                    + " contains a control character (or is null): refused, it cannot be "
                    + "measured unambiguously");
          }
          sorted.put(k, v);
        });
    return new TrustConfiguration(java.util.Collections.unmodifiableSortedMap(sorted));
  }

  /**
   * The canonical document (docs/trust-config.md): header line, then {@code name=value} lines
   * sorted by name.
   */
  public byte[] document() {
    return document.clone();
  }

  /** SHA-256 of {@link #document()}: the payload of the RTMR3 event. */
  public byte[] digest() {
    return Digests.sha256(document);
  }

  public String digestHex() {
    return HexFormat.of().formatHex(digest());
  }

  /**
   * The measured key names (values are not exposed in logs: an RPC URL may carry an access token).
   */
  public Collection<String> keys() {
    return values.keySet();
  }

  private static MeasuredKey key(String name, Function<Inputs, String> value) {
    return new MeasuredKey(name, value);
  }

  private static String lower(Optional<String> v) {
    return v.map(s -> s.toLowerCase(Locale.ROOT)).orElse("");
  }

  private static String sorted(Collection<String> list) {
    return String.join(",", list.stream().map(String::trim).sorted().distinct().toList());
  }

  private static String duration(Duration d) {
    return d.toString(); // ISO-8601, e.g. PT720H for 30d
  }

  /**
   * A PEM file is measured by its content, not its path: the host could replace the file behind the
   * same path.
   */
  private static String fileDigest(String key, Optional<Path> file) {
    if (file.isEmpty()) {
      return "";
    }
    try {
      byte[] content = Files.readAllBytes(file.get());
      return "sha256:" + Digests.sha256Hex(content);
    } catch (IOException e) {
      throw new IllegalStateException(
          key + " " + file.get() + " cannot be read to measure it: " + e.getMessage(), e);
    }
  }
}
