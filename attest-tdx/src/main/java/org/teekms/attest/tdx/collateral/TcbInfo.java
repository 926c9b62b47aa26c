package org.teekms.attest.tdx.collateral;

import java.time.Instant;
import java.util.List;
import org.teekms.attest.tdx.TcbStatus;
import org.teekms.crypto.Bytes;

/**
 * Intel TCB info (id "TDX" version 3, or id "SGX" version 2/3), parsed from its signed JSON. TCB
 * levels keep the order Intel publishes them in (highest TCB first), which the matching rules rely
 * on.
 */
public record TcbInfo(
    String id,
    int version,
    Instant issueDate,
    Instant nextUpdate,
    Bytes fmspc,
    Bytes pceId,
    int tcbType,
    int tcbEvaluationDataNumber,
    TdxModule tdxModule,
    List<TdxModuleIdentity> tdxModuleIdentities,
    List<TcbLevel> tcbLevels) {

  public TcbInfo {
    tdxModuleIdentities = List.copyOf(tdxModuleIdentities);
    tcbLevels = List.copyOf(tcbLevels);
  }

  /** The expected TDX module signer and SEAM attributes (null in SGX TCB info). */
  public record TdxModule(Bytes mrSigner, Bytes attributes, Bytes attributesMask) {}

  /** A TDX module identity ("TDX_01", "TDX_03", …) with its own ISVSVN-based TCB levels. */
  public record TdxModuleIdentity(
      String id,
      Bytes mrSigner,
      Bytes attributes,
      Bytes attributesMask,
      List<IsvSvnLevel> tcbLevels) {
    public TdxModuleIdentity {
      tcbLevels = List.copyOf(tcbLevels);
    }
  }

  /**
   * A platform TCB level: 16 SGX component SVNs, PCESVN, and for TDX 16 TDX component SVNs (else
   * empty).
   */
  public record TcbLevel(
      List<Integer> sgxComponents,
      int pceSvn,
      List<Integer> tdxComponents,
      Instant tcbDate,
      TcbStatus status,
      List<String> advisoryIds) {
    public TcbLevel {
      sgxComponents = List.copyOf(sgxComponents);
      tdxComponents = List.copyOf(tdxComponents);
      advisoryIds = List.copyOf(advisoryIds);
    }
  }

  /** A TCB level keyed by a single ISVSVN (QE identity levels and TDX module identity levels). */
  public record IsvSvnLevel(
      int isvSvn, Instant tcbDate, TcbStatus status, List<String> advisoryIds) {
    public IsvSvnLevel {
      advisoryIds = List.copyOf(advisoryIds);
    }
  }
}
