package org.teekms.attest.osimage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.teekms.crypto.Bytes;

/**
 * Coverage-guided fuzz targets (Jazzer) for the OS-image documents a host supplies: vm_config JSON,
 * dstack's measurement.tdx.cbor (with its TD HOB witness) and the image's checksum file. Corpus:
 * {@code src/test/resources/org/teekms/attest/osimage/OsImageFuzzTestInputs/<target>/}. Only {@link
 * OsImageException} may escape the parsers, the verifier always returns a verdict, and a mutated
 * vm_config is verified against the real quote only if it names the real OS image.
 */
class OsImageFuzzTest {
  private static final DstackCapture LITE;
  private static final Bytes REAL_IMAGE;

  static {
    try {
      LITE = DstackCapture.load(DstackCapture.LITE);
      OsImageVerdict v = LITE.verify(LITE.vmConfigCopy());
      if (!v.verified()) {
        throw new IllegalStateException("the lite capture no longer verifies: " + v.error());
      }
      REAL_IMAGE = v.osImageHash();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @FuzzTest
  void vmConfig(byte[] data) {
    try {
      VmConfig.parse(data);
    } catch (OsImageException expected) {
      // typed
    }
    OsImageVerdict v = OsImageVerifier.verify(LITE.quoted(), data, LITE.eventLog());
    assertNotNull(v);
    if (v.verified()) {
      assertEquals(
          REAL_IMAGE, v.osImageHash(), "a mutated vm_config verified with another OS image");
    }
  }

  @FuzzTest
  void measurementDocument(byte[] data) {
    try {
      TdxImageMeasurement m = TdxImageMeasurement.decode(data);
      TdHob.decode(m.tdHobWitness().toByteArray());
      assertArrayEquals(
          m.encode(), TdxImageMeasurement.decode(m.encode()).encode(), "canonical re-encoding");
    } catch (OsImageException expected) {
      // typed
    }
  }

  @FuzzTest
  void checksumFile(byte[] data) {
    try {
      byte[] sha = ChecksumFile.entry(data, TdxMeasurementDocument.FILENAME);
      assertEquals(32, sha.length);
    } catch (OsImageException expected) {
      // typed
    }
  }
}
