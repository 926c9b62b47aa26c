package org.teekms.attest.gpu;

import static org.teekms.attest.gpu.GpuAttestationException.Reason.MALFORMED_EVIDENCE;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1InputStream;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.ASN1UTF8String;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.DERUTF8String;
import org.teekms.crypto.Bytes;
import org.teekms.crypto.Digests;

/**
 * The GPU evidence of one CVM: for each GPU its raw attestation report and its attestation-key
 * certificate chain (DER, leaf first). Encoded as DER (spec and test vector: {@code
 * docs/gpu-attestation.md}):
 *
 * <pre>
 * GpuEvidence ::= SEQUENCE {
 *   version       INTEGER (1),
 *   architecture  UTF8String,                       -- "HOPPER"
 *   gpus          SEQUENCE SIZE (1..8) OF GpuDevice }
 * GpuDevice ::= SEQUENCE {
 *   report        OCTET STRING (SIZE (1..65536)),   -- SPDM request ‖ response, as NVML returns it
 *   certChain     SEQUENCE SIZE (1..8) OF OCTET STRING (SIZE (1..16384)) }  -- DER certificates, leaf first
 * </pre>
 *
 * Decoding is strict: the input must be exactly one DER value (re-encoding gives the same bytes),
 * within {@link #MAX_ENCODED_BYTES}. This encoding is what the RA-TLS certificate extension
 * carries, and its SHA-384 ({@link #sha384()}) is what the CVM measures into RTMR3 (event {@value
 * #RTMR3_EVENT_NAME}).
 */
public record GpuEvidence(GpuArchitecture architecture, List<Device> gpus) {
  public static final int VERSION = 1;
  public static final int MAX_GPUS = 8;
  public static final int MAX_ENCODED_BYTES = 512 * 1024;

  /**
   * Name of the dstack-style runtime event (type 0x08000001) whose payload is {@link #sha384()}.
   */
  public static final String RTMR3_EVENT_NAME = "gpu-evidence";

  static final int RUNTIME_EVENT_TYPE = 0x08000001;

  /** One GPU: its report and its certificate chain (DER, leaf first). Compares by value. */
  public record Device(Bytes report, List<Bytes> certChain) {
    public Device {
      certChain = List.copyOf(certChain);
    }

    /** Sizes only: a report is kilobytes of hex. */
    @Override
    public String toString() {
      return "Device[report="
          + report.length()
          + " bytes, certChain="
          + certChain.size()
          + " certificates]";
    }
  }

  public GpuEvidence {
    Objects.requireNonNull(architecture, "architecture");
    gpus = List.copyOf(gpus);
    if (gpus.isEmpty() || gpus.size() > MAX_GPUS) {
      throw new IllegalArgumentException(
          "GPU evidence needs 1.." + MAX_GPUS + " GPUs, got " + gpus.size());
    }
    for (Device d : gpus) {
      if (d.report.isEmpty() || d.report.length() > HopperReportParser.MAX_REPORT_BYTES) {
        throw new IllegalArgumentException("report of " + d.report.length() + " bytes");
      }
      if (d.certChain.isEmpty() || d.certChain.size() > CertChainValidator.MAX_CHAIN_LENGTH) {
        throw new IllegalArgumentException(
            "certificate chain of " + d.certChain.size() + " certificates");
      }
      for (Bytes c : d.certChain) {
        if (c.isEmpty() || c.length() > CertChainValidator.MAX_CERT_BYTES) {
          throw new IllegalArgumentException("certificate of " + c.length() + " bytes");
        }
      }
    }
  }

  /** The DER encoding. */
  public byte[] encode() {
    ASN1EncodableVector devices = new ASN1EncodableVector();
    for (Device d : gpus) {
      ASN1EncodableVector chain = new ASN1EncodableVector();
      for (Bytes c : d.certChain) {
        chain.add(new DEROctetString(c.toByteArray()));
      }
      devices.add(
          new DERSequence(
              new ASN1Encodable[] {
                new DEROctetString(d.report.toByteArray()), new DERSequence(chain)
              }));
    }
    try {
      return new DERSequence(
              new ASN1Encodable[] {
                new ASN1Integer(VERSION),
                new DERUTF8String(architecture.name()),
                new DERSequence(devices)
              })
          .getEncoded(ASN1Encoding.DER);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** SHA-384 of {@link #encode()}: the payload of the RTMR3 event {@value #RTMR3_EVENT_NAME}. */
  public byte[] sha384() {
    return Digests.sha384(encode());
  }

  /**
   * The RTMR3 extend value of the event, dstack runtime-event rule (V1): {@code
   * SHA-384(le32(0x08000001) ‖ ":" ‖ "gpu-evidence" ‖ ":" ‖ sha384())}.
   */
  public byte[] rtmr3EventDigest() {
    try {
      ByteArrayOutputStream msg = new ByteArrayOutputStream();
      msg.writeBytes(
          new byte[] {
            (byte) RUNTIME_EVENT_TYPE,
            (byte) (RUNTIME_EVENT_TYPE >> 8),
            (byte) (RUNTIME_EVENT_TYPE >> 16),
            (byte) (RUNTIME_EVENT_TYPE >>> 24)
          });
      msg.write(':');
      msg.writeBytes(RTMR3_EVENT_NAME.getBytes(StandardCharsets.US_ASCII));
      msg.write(':');
      msg.writeBytes(sha384());
      return MessageDigest.getInstance("SHA-384").digest(msg.toByteArray());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Strict DER decoding with size limits; anything else is {@code MALFORMED_EVIDENCE}. */
  public static GpuEvidence decode(byte[] der) throws GpuAttestationException {
    if (der == null || der.length == 0 || der.length > MAX_ENCODED_BYTES) {
      throw bad(
          "encoding is "
              + (der == null ? 0 : der.length)
              + " bytes (allowed 1.."
              + MAX_ENCODED_BYTES
              + ")");
    }
    try (ASN1InputStream in = new ASN1InputStream(der, true)) {
      ASN1Primitive top = in.readObject();
      if (top == null || in.readObject() != null) {
        throw bad("expected exactly one DER value");
      }
      if (!Arrays.equals(top.getEncoded(ASN1Encoding.DER), der)) {
        throw bad("not canonical DER");
      }
      ASN1Sequence seq = sequence(top, "GpuEvidence", 3, 3);
      if (!(seq.getObjectAt(0) instanceof ASN1Integer version)
          || version.intValueExact() != VERSION) {
        throw bad("version is not INTEGER " + VERSION);
      }
      if (!(seq.getObjectAt(1) instanceof ASN1UTF8String archName)) {
        throw bad("architecture is not a UTF8String");
      }
      GpuArchitecture arch;
      try {
        arch = GpuArchitecture.valueOf(archName.getString());
      } catch (IllegalArgumentException e) {
        throw bad("unknown architecture '" + archName.getString() + "'");
      }
      ASN1Sequence devices = sequence(seq.getObjectAt(2), "gpus", 1, MAX_GPUS);
      List<Device> gpus = new ArrayList<>();
      for (ASN1Encodable e : devices) {
        ASN1Sequence device = sequence(e, "GpuDevice", 2, 2);
        byte[] report =
            octets(device.getObjectAt(0), "report", HopperReportParser.MAX_REPORT_BYTES);
        ASN1Sequence chain =
            sequence(device.getObjectAt(1), "certChain", 1, CertChainValidator.MAX_CHAIN_LENGTH);
        List<Bytes> certs = new ArrayList<>();
        for (ASN1Encodable c : chain) {
          certs.add(Bytes.copyOf(octets(c, "certificate", CertChainValidator.MAX_CERT_BYTES)));
        }
        gpus.add(new Device(Bytes.copyOf(report), certs));
      }
      return new GpuEvidence(arch, gpus);
    } catch (GpuAttestationException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw bad("not valid DER: " + e.getMessage());
    }
  }

  private static ASN1Sequence sequence(ASN1Encodable e, String what, int min, int max)
      throws GpuAttestationException {
    if (!(e instanceof ASN1Sequence s)) {
      throw bad(what + " is not a SEQUENCE");
    }
    if (s.size() < min || s.size() > max) {
      throw bad(what + " has " + s.size() + " elements (allowed " + min + ".." + max + ")");
    }
    return s;
  }

  private static byte[] octets(ASN1Encodable e, String what, int max)
      throws GpuAttestationException {
    if (!(e instanceof ASN1OctetString o)) {
      throw bad(what + " is not an OCTET STRING");
    }
    byte[] v = o.getOctets();
    if (v.length == 0 || v.length > max) {
      throw bad(what + " is " + v.length + " bytes (allowed 1.." + max + ")");
    }
    return v;
  }

  private static GpuAttestationException bad(String message) {
    return new GpuAttestationException(MALFORMED_EVIDENCE, message);
  }

  @Override
  public String toString() {
    return "GpuEvidence[" + architecture + ", " + gpus.size() + " GPUs]";
  }
}
