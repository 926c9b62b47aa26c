package org.teekms.attest.tdx;

import org.teekms.crypto.Bytes;

/**
 * An SGX enclave report (384 bytes): the body of an SGX quote, and the QE report inside every
 * quote's signature data.
 */
public record EnclaveReport(
    Bytes cpuSvn,
    long miscSelect,
    Bytes attributes,
    Bytes mrEnclave,
    Bytes mrSigner,
    int isvProdId,
    int isvSvn,
    Bytes reportData)
    implements QuoteBody {

  public static final int SIZE = 384;

  static EnclaveReport read(ByteReader r) throws QuoteParseException {
    Bytes cpuSvn = r.bytes(16, "report.cpu_svn");
    long miscSelect = r.u32("report.misc_select");
    r.skip(28, "report.reserved1");
    Bytes attributes = r.bytes(16, "report.attributes");
    Bytes mrEnclave = r.bytes(32, "report.mr_enclave");
    r.skip(32, "report.reserved2");
    Bytes mrSigner = r.bytes(32, "report.mr_signer");
    r.skip(96, "report.reserved3");
    int isvProdId = r.u16("report.isv_prod_id");
    int isvSvn = r.u16("report.isv_svn");
    r.skip(60, "report.reserved4");
    Bytes reportData = r.bytes(64, "report.report_data");
    return new EnclaveReport(
        cpuSvn, miscSelect, attributes, mrEnclave, mrSigner, isvProdId, isvSvn, reportData);
  }

  /** ATTRIBUTES bit 1: the enclave was launched in debug mode. */
  public boolean debug() {
    return (attributes.get(0) & 0x02) != 0;
  }
}
