package org.teekms.attest.tdx;

import java.util.List;
import org.teekms.crypto.Bytes;

/**
 * A TD report body: TDX 1.0 (584 bytes, quote v4 or v5 body type 2) or TDX 1.5 (648 bytes, v5 body
 * type 3, which adds TEE_TCB_SVN_2 and MRSERVICETD; those two are {@code null} for TDX 1.0).
 */
public record TdReport(
    Bytes teeTcbSvn,
    Bytes mrSeam,
    Bytes mrSignerSeam,
    Bytes seamAttributes,
    TdAttributes tdAttributes,
    Bytes xfam,
    Bytes mrTd,
    Bytes mrConfigId,
    Bytes mrOwner,
    Bytes mrOwnerConfig,
    List<Bytes> rtmrs,
    Bytes reportData,
    Bytes teeTcbSvn2,
    Bytes mrServiceTd)
    implements QuoteBody {

  public static final int TD10_SIZE = 584;
  public static final int TD15_SIZE = 648;

  public TdReport {
    rtmrs = List.copyOf(rtmrs);
  }

  static TdReport read(ByteReader r, boolean td15) throws QuoteParseException {
    Bytes teeTcbSvn = r.bytes(16, "td.tee_tcb_svn");
    Bytes mrSeam = r.bytes(48, "td.mr_seam");
    Bytes mrSignerSeam = r.bytes(48, "td.mr_signer_seam");
    Bytes seamAttributes = r.bytes(8, "td.seam_attributes");
    TdAttributes tdAttributes = new TdAttributes(r.bytes(8, "td.td_attributes"));
    Bytes xfam = r.bytes(8, "td.xfam");
    Bytes mrTd = r.bytes(48, "td.mr_td");
    Bytes mrConfigId = r.bytes(48, "td.mr_config_id");
    Bytes mrOwner = r.bytes(48, "td.mr_owner");
    Bytes mrOwnerConfig = r.bytes(48, "td.mr_owner_config");
    List<Bytes> rtmrs =
        List.of(
            r.bytes(48, "td.rtmr0"),
            r.bytes(48, "td.rtmr1"),
            r.bytes(48, "td.rtmr2"),
            r.bytes(48, "td.rtmr3"));
    Bytes reportData = r.bytes(64, "td.report_data");
    Bytes teeTcbSvn2 = td15 ? r.bytes(16, "td.tee_tcb_svn2") : null;
    Bytes mrServiceTd = td15 ? r.bytes(48, "td.mr_servicetd") : null;
    return new TdReport(
        teeTcbSvn,
        mrSeam,
        mrSignerSeam,
        seamAttributes,
        tdAttributes,
        xfam,
        mrTd,
        mrConfigId,
        mrOwner,
        mrOwnerConfig,
        rtmrs,
        reportData,
        teeTcbSvn2,
        mrServiceTd);
  }

  public boolean isTd15() {
    return teeTcbSvn2 != null;
  }

  public Bytes rtmr(int index) {
    return rtmrs.get(index);
  }

  /** TEE_TCB_SVN byte 0: the SVN of the TDX module. */
  public int tdxModuleSvn() {
    return teeTcbSvn.get(0);
  }

  /** TEE_TCB_SVN byte 1: the TDX module major version (0 for early TDX 1.0 modules). */
  public int tdxModuleMajorVersion() {
    return teeTcbSvn.get(1);
  }
}
