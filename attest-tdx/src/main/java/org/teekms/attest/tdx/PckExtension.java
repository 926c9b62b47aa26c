package org.teekms.attest.tdx;

import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Enumerated;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;
import org.teekms.crypto.Bytes;
import org.teekms.crypto.Digests;

/**
 * The Intel SGX extension (OID 1.2.840.113741.1.13.1) of a PCK certificate: the platform's identity
 * and the TCB it was certified at. FMSPC selects the TCB info; CPUSVN components and PCESVN select
 * the platform TCB level.
 */
public record PckExtension(
    Bytes ppid,
    List<Integer> cpuSvnComponents,
    int pceSvn,
    Bytes cpuSvn,
    Bytes pceId,
    Bytes fmspc,
    int sgxType) {

  public static final String OID = "1.2.840.113741.1.13.1";
  private static final ASN1ObjectIdentifier SGX = new ASN1ObjectIdentifier(OID);
  private static final ASN1ObjectIdentifier PPID = SGX.branch("1");
  private static final ASN1ObjectIdentifier TCB = SGX.branch("2");
  private static final ASN1ObjectIdentifier PCE_ID = SGX.branch("3");
  private static final ASN1ObjectIdentifier FMSPC = SGX.branch("4");
  private static final ASN1ObjectIdentifier SGX_TYPE = SGX.branch("5");
  private static final ASN1ObjectIdentifier PCESVN = TCB.branch("17");
  private static final ASN1ObjectIdentifier CPUSVN = TCB.branch("18");

  public PckExtension {
    cpuSvnComponents = List.copyOf(cpuSvnComponents);
  }

  /** SHA-256 of the PPID: a stable device identifier that does not reveal the PPID itself. */
  public Bytes deviceId() {
    return Bytes.copyOf(Digests.sha256(ppid.toByteArray()));
  }

  /**
   * Reads the extension from a PCK leaf; throws if it is absent or any required field is missing or
   * malformed.
   */
  public static PckExtension of(X509Certificate pck) throws QuoteParseException {
    byte[] ext = pck.getExtensionValue(OID);
    if (ext == null) {
      throw new QuoteParseException("PCK certificate has no SGX extension " + OID);
    }
    try {
      ASN1Sequence seq = ASN1Sequence.getInstance(ASN1OctetString.getInstance(ext).getOctets());
      Bytes ppid = null;
      Bytes pceId = null;
      Bytes fmspc = null;
      Integer sgxType = null;
      Integer[] comps = new Integer[16];
      Integer pceSvn = null;
      Bytes cpuSvn = null;
      for (ASN1Encodable e : seq) {
        ASN1Sequence item = ASN1Sequence.getInstance(e);
        if (item.size() != 2) {
          throw new QuoteParseException("SGX extension entry has " + item.size() + " elements");
        }
        ASN1ObjectIdentifier oid = ASN1ObjectIdentifier.getInstance(item.getObjectAt(0));
        ASN1Primitive value = item.getObjectAt(1).toASN1Primitive();
        if (oid.equals(PPID)) {
          ppid = octets(value, 16, "PPID");
        } else if (oid.equals(PCE_ID)) {
          pceId = octets(value, 2, "PCE-ID");
        } else if (oid.equals(FMSPC)) {
          fmspc = octets(value, 6, "FMSPC");
        } else if (oid.equals(SGX_TYPE)) {
          sgxType = ASN1Enumerated.getInstance(value).intValueExact();
        } else if (oid.equals(TCB)) {
          for (ASN1Encodable t : ASN1Sequence.getInstance(value)) {
            ASN1Sequence tcbItem = ASN1Sequence.getInstance(t);
            if (tcbItem.size() != 2) {
              throw new QuoteParseException("SGX TCB entry has " + tcbItem.size() + " elements");
            }
            ASN1ObjectIdentifier toid = ASN1ObjectIdentifier.getInstance(tcbItem.getObjectAt(0));
            ASN1Primitive tv = tcbItem.getObjectAt(1).toASN1Primitive();
            if (toid.equals(CPUSVN)) {
              cpuSvn = octets(tv, 16, "CPUSVN");
            } else if (toid.equals(PCESVN)) {
              pceSvn = boundedInt(tv, 0xffff, "PCESVN");
            } else if (toid.on(TCB)) {
              int idx = Integer.parseInt(toid.getId().substring(TCB.getId().length() + 1)) - 1;
              if (idx < 0 || idx >= 16) {
                throw new QuoteParseException("unknown SGX TCB component " + toid);
              }
              comps[idx] = boundedInt(tv, 0xff, "CPUSVN component " + (idx + 1));
            }
          }
        }
      }
      List<Integer> components = new ArrayList<>(16);
      for (int i = 0; i < 16; i++) {
        if (comps[i] == null) {
          throw new QuoteParseException("SGX extension lacks CPUSVN component " + (i + 1));
        }
        components.add(comps[i]);
      }
      if (ppid == null
          || pceId == null
          || fmspc == null
          || sgxType == null
          || pceSvn == null
          || cpuSvn == null) {
        throw new QuoteParseException(
            "SGX extension lacks a required field (PPID, TCB, PCE-ID, FMSPC or SGX type)");
      }
      return new PckExtension(ppid, components, pceSvn, cpuSvn, pceId, fmspc, sgxType);
    } catch (IllegalArgumentException | ArithmeticException | IllegalStateException e) {
      throw new QuoteParseException(
          "malformed SGX extension in PCK certificate: " + e.getMessage(), e);
    }
  }

  private static Bytes octets(ASN1Primitive value, int length, String field)
      throws QuoteParseException {
    byte[] b = ASN1OctetString.getInstance(value).getOctets();
    if (b.length != length) {
      throw new QuoteParseException(field + " has " + b.length + " bytes, expected " + length);
    }
    return Bytes.copyOf(b);
  }

  private static int boundedInt(ASN1Primitive value, int max, String field)
      throws QuoteParseException {
    int v = ASN1Integer.getInstance(value).intValueExact();
    if (v < 0 || v > max) {
      throw new QuoteParseException(field + " out of range: " + v);
    }
    return v;
  }
}
