package org.teekms.attest.tdx.collateral;

import java.time.Instant;
import java.util.List;
import org.teekms.crypto.Bytes;

/** Intel QE identity ("QE" for SGX quotes, "TD_QE" for TDX quotes), parsed from its signed JSON. */
public record QeIdentity(
    String id,
    int version,
    Instant issueDate,
    Instant nextUpdate,
    int tcbEvaluationDataNumber,
    Bytes miscSelect,
    Bytes miscSelectMask,
    Bytes attributes,
    Bytes attributesMask,
    Bytes mrSigner,
    int isvProdId,
    List<TcbInfo.IsvSvnLevel> tcbLevels) {

  public QeIdentity {
    tcbLevels = List.copyOf(tcbLevels);
  }
}
