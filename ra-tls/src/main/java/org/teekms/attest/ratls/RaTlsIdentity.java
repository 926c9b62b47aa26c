package org.teekms.attest.ratls;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.teekms.attest.eventlog.BootIdentity;
import org.teekms.attest.gpu.GpuResult;
import org.teekms.attest.tdx.MrSystem;
import org.teekms.attest.tdx.TcbStatus;
import org.teekms.attest.tdx.TdReport;
import org.teekms.crypto.Bytes;

/**
 * Who the peer of an RA-TLS connection is, as established by {@link RaTlsVerifier}: its boot
 * identity (app id, compose hash, instance id, …) from the replayed event log, its TD measurements,
 * the platform's TCB verdict and, when the certificate carried GPU evidence and a GPU verifier was
 * configured, one result per GPU.
 *
 * @param certificateSha256 SHA-256 of the peer certificate's DER (the cache key)
 * @param boot the boot identity from RTMR3
 * @param mrAggregated dstack's aggregated measurement (docs/ra-tls.md)
 * @param td the verified TD report (MRTD, RTMR0-3, attributes, REPORTDATA, …)
 * @param tcbStatus the platform's combined TCB status
 * @param advisoryIds Intel advisories that apply to the platform
 * @param fmspc the platform's FMSPC
 * @param deviceId SHA-256 of the platform's PPID
 * @param gpus one result per attested GPU; empty when the certificate has no GPU evidence
 * @param verifiedAt when the certificate was verified
 * @param certificateNotAfter end of the certificate's validity
 * @param mrSystem SHA-256(MRTD ‖ RTMR0 ‖ RTMR1 ‖ RTMR2) of the verified quote ({@link MrSystem}):
 *     the OS identity the hardware measured, never a value the guest wrote
 * @param osImage whether the {@link OsImageCheck} proved the claimed OS image from a measurement
 *     document; when not, only a golden mrSystem registered for that image can vouch for it
 */
public record RaTlsIdentity(
    Bytes certificateSha256,
    BootIdentity boot,
    Bytes mrAggregated,
    TdReport td,
    TcbStatus tcbStatus,
    List<String> advisoryIds,
    Bytes fmspc,
    Bytes deviceId,
    List<GpuResult> gpus,
    Instant verifiedAt,
    Instant certificateNotAfter,
    Bytes mrSystem,
    OsImageProof osImage) {

  public RaTlsIdentity {
    advisoryIds = List.copyOf(advisoryIds);
    gpus = List.copyOf(gpus);
    java.util.Objects.requireNonNull(mrSystem, "mrSystem");
    java.util.Objects.requireNonNull(osImage, "osImage");
  }

  /**
   * The OS image the hardware measurements prove: the image a measurement document proved (which
   * replaces the RTMR3 claim), or the RTMR3 claim itself when the check proved that one; empty when
   * nothing proved an image.
   */
  public Optional<Bytes> provenOsImageHash() {
    if (!osImage.proven()) {
      return Optional.empty();
    }
    return osImage.imageHash().or(() -> boot.osImageHash());
  }

  /**
   * Whether a measurement document proved the claimed OS image against the quote (see {@link
   * OsImageCheck}).
   */
  public boolean osImageMeasured() {
    return osImage.proven();
  }

  public Bytes appId() {
    return boot.appId();
  }

  public Bytes composeHash() {
    return boot.composeHash();
  }

  public Bytes instanceId() {
    return boot.instanceId();
  }

  public Optional<String> keyProvider() {
    return boot.keyProvider();
  }

  public Optional<Bytes> osImageHash() {
    return boot.osImageHash();
  }

  public Bytes mrTd() {
    return td.mrTd();
  }

  public Bytes rtmr(int index) {
    return td.rtmr(index);
  }

  public boolean debug() {
    return td.tdAttributes().debug();
  }
}
