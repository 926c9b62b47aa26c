package org.teekms.attest.gpu;

import java.util.List;
import org.teekms.crypto.Bytes;

/**
 * A reference integrity manifest (SWID tag) whose XML signature and signer chain signatures were
 * verified by {@link RimVerifier}. What stays time-dependent is {@link
 * CertChainValidator.VerifiedChain#checkValidAt}.
 *
 * @param name where it came from (file name), for messages
 * @param kind driver or VBIOS, from the format of {@code colloquialVersion}
 * @param product {@code SoftwareIdentity/@name}, e.g. {@code GH100}
 * @param version {@code Meta/@colloquialVersion}, lower-cased
 * @param measurements every golden measurement, active or not, by 0-based index
 */
public record Rim(
    String name,
    Kind kind,
    String product,
    String version,
    List<GoldenMeasurement> measurements,
    CertChainValidator.VerifiedChain signerChain) {

  public enum Kind {
    DRIVER,
    VBIOS
  }

  public Rim {
    measurements = List.copyOf(measurements);
  }

  /**
   * One {@code Resource[@type="Measurement"]}: 0-based {@code index}, and the accepted values
   * ("alternatives").
   */
  public record GoldenMeasurement(int index, boolean active, int size, List<Bytes> alternatives) {
    public GoldenMeasurement {
      alternatives = List.copyOf(alternatives);
    }

    boolean accepts(byte[] runtime) {
      return runtime.length == size && alternatives.contains(Bytes.copyOf(runtime));
    }
  }
}
