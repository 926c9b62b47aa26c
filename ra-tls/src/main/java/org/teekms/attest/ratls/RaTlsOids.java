package org.teekms.attest.ratls;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;

/**
 * X.509 extension OIDs of an RA-TLS certificate (docs/ra-tls.md, "Certificate format").
 *
 * <p>Quote and event log use dstack's OIDs (Phala's private enterprise arc 1.3.6.1.4.1.62397) so
 * dstack tooling can read our certificates. Everything tee-kms adds lives under a UUID-based arc of
 * our own (ITU-T X.667, {@code 2.25.<uuid>}, which needs no registration): UUID
 * d5387cc8-4856-4f36-b4eb-e67167225a62.
 */
public final class RaTlsOids {
  private RaTlsOids() {}

  /** dstack: the TDX quote, an OCTET STRING. */
  public static final ASN1ObjectIdentifier TDX_QUOTE =
      new ASN1ObjectIdentifier("1.3.6.1.4.1.62397.1.1");

  /**
   * dstack: the event log, an OCTET STRING holding dstack's JSON event log (UTF-8, uncompressed).
   */
  public static final ASN1ObjectIdentifier EVENT_LOG =
      new ASN1ObjectIdentifier("1.3.6.1.4.1.62397.1.2");

  /** tee-kms arc: 2.25.{UUID d5387cc8-4856-4f36-b4eb-e67167225a62 as an integer}. */
  public static final ASN1ObjectIdentifier TEEKMS_ARC =
      new ASN1ObjectIdentifier("2.25.283418862613075649339445496462685919842");

  /** tee-kms: RA-TLS format version, an INTEGER (currently 1). */
  public static final ASN1ObjectIdentifier FORMAT_VERSION = TEEKMS_ARC.branch("1");

  /** tee-kms: encoded GPU evidence (see the GPU evidence encoding), an OCTET STRING. */
  public static final ASN1ObjectIdentifier GPU_EVIDENCE = TEEKMS_ARC.branch("2");

  /**
   * tee-kms: dstack's {@code vm_config} JSON (UTF-8; os_image_hash, cpu_count, memory_size, the
   * image's measurement document, …), an OCTET STRING, optional. Unverified input for an {@link
   * OsImageCheck}: it proves an OS image only when the MRTD and RTMR0-2 it predicts equal the
   * quote's.
   */
  public static final ASN1ObjectIdentifier VM_CONFIG = TEEKMS_ARC.branch("3");
}
