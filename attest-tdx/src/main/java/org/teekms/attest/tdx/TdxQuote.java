package org.teekms.attest.tdx;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.teekms.crypto.Bytes;

/**
 * A parsed Intel DCAP quote: version 3 (SGX), 4 (TDX 1.0 or SGX) or 5 (body type 1 SGX, 2 TDX 1.0,
 * 3 TDX 1.5), with ECDSA-P256 signature data whose certification data is the QE report (type 6)
 * carrying the PCK chain (type 5). Only the {@code signature_data_len} bytes after the signed
 * region are read; anything after them (real quotes carry zero padding and even text) is ignored
 * and reported in {@link #trailingBytes()}.
 *
 * <p>Parsing checks structure only. {@link DcapQuoteVerifier} checks that the quote is genuine.
 */
public record TdxQuote(
    QuoteHeader header,
    int bodyType,
    QuoteBody body,
    Bytes signedRegion,
    Bytes quoteSignature,
    Bytes attestationKey,
    EnclaveReport qeReport,
    Bytes qeReportRaw,
    Bytes qeReportSignature,
    Bytes qeAuthData,
    int certificationDataType,
    Bytes pckCertChainPem,
    long signatureDataLength,
    int trailingBytes) {

  /** v5 body types. */
  public static final int BODY_SGX = 1;

  public static final int BODY_TD10 = 2;
  public static final int BODY_TD15 = 3;

  static final int CERT_DATA_PCK_CHAIN = 5;
  static final int CERT_DATA_QE_REPORT = 6;

  public static TdxQuote parse(byte[] quote) throws QuoteParseException {
    if (quote == null) {
      throw new QuoteParseException("no quote");
    }
    ByteReader r = new ByteReader(quote, 0, quote.length);
    QuoteHeader header = readHeader(r);

    int bodyType;
    QuoteBody body;
    switch (header.version()) {
      case 3 -> {
        if (header.teeType() != TeeType.SGX) {
          throw new QuoteParseException(
              "quote format not supported: version 3 with tee_type " + header.teeType());
        }
        bodyType = BODY_SGX;
        body = EnclaveReport.read(r);
      }
      case 4 -> {
        bodyType = header.teeType() == TeeType.TDX ? BODY_TD10 : BODY_SGX;
        body = bodyType == BODY_TD10 ? TdReport.read(r, false) : EnclaveReport.read(r);
      }
      case 5 -> {
        bodyType = r.u16("body_type");
        long bodySize = r.u32("body_size");
        int expected =
            switch (bodyType) {
              case BODY_SGX -> EnclaveReport.SIZE;
              case BODY_TD10 -> TdReport.TD10_SIZE;
              case BODY_TD15 -> TdReport.TD15_SIZE;
              default ->
                  throw new QuoteParseException(
                      "quote format not supported: v5 body type " + bodyType);
            };
        if (bodySize != expected) {
          throw new QuoteParseException(
              "v5 body type " + bodyType + " has size " + bodySize + ", expected " + expected);
        }
        if ((bodyType == BODY_SGX) != (header.teeType() == TeeType.SGX)) {
          throw new QuoteParseException(
              "v5 body type " + bodyType + " does not match tee_type " + header.teeType());
        }
        ByteReader b = r.slice(bodySize, "body");
        body =
            bodyType == BODY_SGX ? EnclaveReport.read(b) : TdReport.read(b, bodyType == BODY_TD15);
      }
      default ->
          throw new QuoteParseException("quote format not supported: version " + header.version());
    }
    int signedLength = r.position();
    Bytes signedRegion = Bytes.copyOf(quote, 0, signedLength);

    long sigDataLength = r.u32("signature_data_len");
    ByteReader s = r.slice(sigDataLength, "signature_data");
    int trailing = r.remaining();

    Bytes quoteSignature = s.bytes(64, "quote_signature");
    Bytes attestationKey = s.bytes(64, "attestation_key");
    ByteReader qeCert;
    int certType;
    if (header.version() == 3) {
      qeCert = s; // v3 inlines the QE report certification data
      certType = CERT_DATA_QE_REPORT;
    } else {
      certType = s.u16("certification_data.type");
      long size = s.u32("certification_data.size");
      if (certType != CERT_DATA_QE_REPORT) {
        throw new QuoteParseException(
            "unsupported certification data type " + certType + " (expected 6, QE report)");
      }
      if (size != s.remaining()) {
        throw new QuoteParseException(
            "size of certification data is 0x"
                + Long.toHexString(size)
                + ", but 0x"
                + Integer.toHexString(s.remaining())
                + " bytes of signature data remain");
      }
      qeCert = s.slice(size, "certification_data");
    }
    int qeReportOffset = qeCert.position();
    EnclaveReport qeReport = EnclaveReport.read(qeCert);
    Bytes qeReportRaw = Bytes.copyOf(quote, qeReportOffset, EnclaveReport.SIZE);
    Bytes qeReportSignature = qeCert.bytes(64, "qe_report_signature");
    int authLength = qeCert.u16("qe_auth_data.size");
    Bytes qeAuthData = qeCert.bytes(authLength, "qe_auth_data");
    int innerType = qeCert.u16("pck_certification_data.type");
    long innerSize = qeCert.u32("pck_certification_data.size");
    if (innerType != CERT_DATA_PCK_CHAIN) {
      throw new QuoteParseException(
          "unsupported PCK certification data type "
              + innerType
              + " (expected 5, PEM PCK certificate chain)");
    }
    if (innerSize != qeCert.remaining()) {
      throw new QuoteParseException(
          "size of PCK certification data is 0x"
              + Long.toHexString(innerSize)
              + ", but 0x"
              + Integer.toHexString(qeCert.remaining())
              + " bytes remain");
    }
    Bytes pem = qeCert.bytes(innerSize, "pck_certification_data");
    return new TdxQuote(
        header,
        bodyType,
        body,
        signedRegion,
        quoteSignature,
        attestationKey,
        qeReport,
        qeReportRaw,
        qeReportSignature,
        qeAuthData,
        innerType,
        pem,
        sigDataLength,
        trailing);
  }

  private static QuoteHeader readHeader(ByteReader r) throws QuoteParseException {
    int version = r.u16("header.version");
    int keyType = r.u16("header.attestation_key_type");
    long teeTypeCode = r.u32("header.tee_type");
    int qeSvn = r.u16("header.qe_svn");
    int pceSvn = r.u16("header.pce_svn");
    Bytes vendor = r.bytes(16, "header.qe_vendor_id");
    Bytes userData = r.bytes(20, "header.user_data");
    if (version < 3 || version > 5) {
      throw new QuoteParseException("quote format not supported: version " + version);
    }
    if (keyType != QuoteHeader.ATTESTATION_KEY_ECDSA_P256) {
      throw new QuoteParseException(
          "unsupported attestation key type " + keyType + " (expected 2, ECDSA-P256)");
    }
    TeeType teeType = TeeType.fromCode(teeTypeCode);
    return new QuoteHeader(version, keyType, teeType, qeSvn, pceSvn, vendor, userData);
  }

  /**
   * Decodes a quote file: raw binary, or hex text (optionally {@code 0x}-prefixed, surrounding
   * whitespace ignored). Text that looks like hex but is not valid hex is an error rather than
   * being taken as binary.
   */
  public static byte[] decodeFile(byte[] content) throws QuoteParseException {
    if (content.length < 4) {
      throw new QuoteParseException("quote file too short (" + content.length + " bytes)");
    }
    boolean text = true;
    for (byte b : content) {
      if (!isHexOrSpace(b) && b != 'x' && b != 'X') {
        text = false;
        break;
      }
    }
    if (!text) {
      return content;
    }
    String s = new String(content, StandardCharsets.US_ASCII).strip();
    if (s.startsWith("0x") || s.startsWith("0X")) {
      s = s.substring(2);
    }
    s = s.replaceAll("\\s+", "");
    if (s.length() % 2 != 0) {
      throw new QuoteParseException("hex quote has an odd number of digits");
    }
    try {
      return HexFormat.of().parseHex(s);
    } catch (IllegalArgumentException e) {
      throw new QuoteParseException("quote file is neither binary nor valid hex", e);
    }
  }

  private static boolean isHexOrSpace(byte b) {
    return (b >= '0' && b <= '9')
        || (b >= 'a' && b <= 'f')
        || (b >= 'A' && b <= 'F')
        || b == ' '
        || b == '\n'
        || b == '\r'
        || b == '\t';
  }

  public TeeType teeType() {
    return header.teeType();
  }

  /** The TD report, or {@code null} for an SGX quote. */
  public TdReport tdReport() {
    return body instanceof TdReport td ? td : null;
  }

  /** The SGX enclave report, or {@code null} for a TDX quote. */
  public EnclaveReport enclaveReport() {
    return body instanceof EnclaveReport e ? e : null;
  }
}
