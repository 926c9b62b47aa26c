package org.teekms.attest.tdx;

import java.util.List;
import java.util.TreeSet;
import org.teekms.attest.tdx.collateral.QeIdentity;
import org.teekms.attest.tdx.collateral.TcbInfo;
import org.teekms.crypto.Bytes;

/**
 * Intel's TCB evaluation for a verified quote (see docs/tdx-quote-verification.md):
 *
 * <ol>
 *   <li>QE identity: the QE report must match MRSIGNER, ISVPRODID, and MISCSELECT/ATTRIBUTES under
 *       their masks; the first level whose ISVSVN the QE reaches gives the QE status.
 *   <li>Platform: the first TCB level (in Intel's order, highest first) whose 16 SGX components and
 *       PCESVN the PCK certificate reaches, and for TDX whose TDX components TEE_TCB_SVN reaches,
 *       gives the platform status. When a TDX module identity {@code TDX_<TEE_TCB_SVN[1]>} judges
 *       the module, TEE_TCB_SVN bytes 0 and 1 are left to it and only bytes 2..15 are compared
 *       (Intel's PCS TDX TCB info rule).
 *   <li>TDX module: MRSIGNERSEAM and SEAM attributes must match {@code tdxModule} (or the module
 *       identity); the identity's first level whose ISVSVN TEE_TCB_SVN[0] reaches gives the module
 *       status.
 *   <li>The statuses combine as {@link TcbStatus#combine}; advisory IDs are the sorted union.
 * </ol>
 *
 * No matching level (platform, QE or module) is a failure, never a status.
 */
final class TcbLevelMatcher {
  private TcbLevelMatcher() {}

  static TcbEvaluation evaluate(
      TdxQuote quote, PckExtension pck, TcbInfo tcbInfo, QeIdentity qeIdentity)
      throws VerificationException {
    boolean tdx = quote.teeType() == TeeType.TDX;
    checkCollateralMatches(tdx, pck, tcbInfo, qeIdentity);
    TreeSet<String> advisories = new TreeSet<>();

    TcbInfo.IsvSvnLevel qeLevel = qeLevel(quote.qeReport(), qeIdentity);
    advisories.addAll(qeLevel.advisoryIds());

    TdReport td = quote.tdReport();
    TcbInfo.IsvSvnLevel moduleLevel = tdx ? tdxModuleLevel(td, tcbInfo) : null;
    boolean moduleJudgedByIdentity = moduleLevel != null;

    TcbInfo.TcbLevel platform = platformLevel(pck, td, tcbInfo, moduleJudgedByIdentity);
    advisories.addAll(platform.advisoryIds());
    TcbStatus status = platform.status();
    if (moduleLevel != null) {
      advisories.addAll(moduleLevel.advisoryIds());
      status = status.combine(moduleLevel.status());
    }
    status = status.combine(qeLevel.status());
    return new TcbEvaluation(
        status,
        List.copyOf(advisories),
        platform.status(),
        platform.tcbDate(),
        moduleLevel == null ? null : moduleLevel.status(),
        qeLevel.status());
  }

  private static void checkCollateralMatches(
      boolean tdx, PckExtension pck, TcbInfo tcbInfo, QeIdentity qe) throws VerificationException {
    String wantTcb = tdx ? "TDX" : "SGX";
    if (!tcbInfo.id().equals(wantTcb)) {
      throw mismatch("TCB info id is " + tcbInfo.id() + ", but the quote is " + wantTcb);
    }
    if (!tcbInfo.fmspc().equals(pck.fmspc())) {
      throw mismatch(
          "TCB info is for FMSPC "
              + tcbInfo.fmspc().hex()
              + ", but the PCK certificate has FMSPC "
              + pck.fmspc().hex());
    }
    if (!tcbInfo.pceId().equals(pck.pceId())) {
      throw mismatch(
          "TCB info is for PCE-ID "
              + tcbInfo.pceId().hex()
              + ", but the PCK certificate has "
              + pck.pceId().hex());
    }
    String wantQe = tdx ? "TD_QE" : "QE";
    if (!qe.id().equals(wantQe) || !(qe.version() == 2 || (tdx && qe.version() == 3))) {
      throw mismatch(
          "QE identity is " + qe.id() + " version " + qe.version() + ", expected " + wantQe);
    }
  }

  static TcbInfo.IsvSvnLevel qeLevel(EnclaveReport qe, QeIdentity id) throws VerificationException {
    if (!qe.mrSigner().equals(id.mrSigner())) {
      throw qeMismatch(
          "QE MRSIGNER "
              + qe.mrSigner().hex()
              + " does not match the QE identity's "
              + id.mrSigner().hex());
    }
    if (qe.isvProdId() != id.isvProdId()) {
      throw qeMismatch(
          "QE ISVPRODID " + qe.isvProdId() + " does not match the QE identity's " + id.isvProdId());
    }
    long misc = qe.miscSelect();
    for (int i = 0; i < 4; i++) {
      int actual = (int) (misc >>> (8 * i)) & 0xff;
      int mask = id.miscSelectMask().get(i);
      if ((actual & mask) != (id.miscSelect().get(i) & mask)) {
        throw qeMismatch("QE MISCSELECT does not match the QE identity under its mask");
      }
    }
    for (int i = 0; i < 16; i++) {
      int mask = id.attributesMask().get(i);
      if ((qe.attributes().get(i) & mask) != (id.attributes().get(i) & mask)) {
        throw qeMismatch(
            "QE ATTRIBUTES byte " + i + " does not match the QE identity under its mask");
      }
    }
    if (qe.debug()) {
      throw qeMismatch("the QE runs in debug mode");
    }
    for (TcbInfo.IsvSvnLevel level : id.tcbLevels()) {
      if (qe.isvSvn() >= level.isvSvn()) {
        return level;
      }
    }
    throw qeMismatch("QE ISVSVN " + qe.isvSvn() + " is below every QE identity TCB level");
  }

  /**
   * Checks the TDX module signer and attributes, and returns the module identity's TCB level, or
   * {@code null} when TEE_TCB_SVN[1] is 0 or the TCB info has no module identities (then the module
   * is judged by the platform level over all 16 TEE_TCB_SVN bytes).
   */
  private static TcbInfo.IsvSvnLevel tdxModuleLevel(TdReport td, TcbInfo tcbInfo)
      throws VerificationException {
    TcbInfo.TdxModule base = tcbInfo.tdxModule();
    int major = td.tdxModuleMajorVersion();
    if (major == 0 || tcbInfo.tdxModuleIdentities().isEmpty()) {
      checkModule(td, base.mrSigner(), base.attributes(), base.attributesMask(), "tdxModule");
      return null;
    }
    String wanted = String.format("TDX_%02X", major);
    for (TcbInfo.TdxModuleIdentity identity : tcbInfo.tdxModuleIdentities()) {
      if (identity.id().equalsIgnoreCase(wanted)) {
        checkModule(
            td, identity.mrSigner(), identity.attributes(), identity.attributesMask(), wanted);
        for (TcbInfo.IsvSvnLevel level : identity.tcbLevels()) {
          if (td.tdxModuleSvn() >= level.isvSvn()) {
            return level;
          }
        }
        throw new VerificationException(
            VerificationFailure.TDX_MODULE_MISMATCH,
            "TDX module SVN " + td.tdxModuleSvn() + " is below every TCB level of " + wanted);
      }
    }
    throw new VerificationException(
        VerificationFailure.TDX_MODULE_MISMATCH,
        "TCB info has no TDX module identity " + wanted + " (TEE_TCB_SVN[1] = " + major + ")");
  }

  private static void checkModule(
      TdReport td, Bytes mrSigner, Bytes attributes, Bytes mask, String what)
      throws VerificationException {
    if (!td.mrSignerSeam().equals(mrSigner)) {
      throw new VerificationException(
          VerificationFailure.TDX_MODULE_MISMATCH,
          "MRSIGNERSEAM "
              + td.mrSignerSeam().hex()
              + " does not match "
              + what
              + " mrsigner "
              + mrSigner.hex());
    }
    for (int i = 0; i < 8; i++) {
      int m = mask.get(i);
      if ((td.seamAttributes().get(i) & m) != (attributes.get(i) & m)) {
        throw new VerificationException(
            VerificationFailure.TDX_MODULE_MISMATCH,
            "SEAM attributes do not match " + what + " under its mask");
      }
    }
  }

  private static TcbInfo.TcbLevel platformLevel(
      PckExtension pck, TdReport td, TcbInfo tcbInfo, boolean skipModuleBytes)
      throws VerificationException {
    List<Integer> cpuSvn = pck.cpuSvnComponents();
    for (TcbInfo.TcbLevel level : tcbInfo.tcbLevels()) {
      if (pck.pceSvn() < level.pceSvn() || !reaches(cpuSvn, level.sgxComponents(), 0)) {
        continue;
      }
      if (td != null) {
        if (level.tdxComponents().size() != 16) {
          throw mismatch("TDX TCB level without 16 TDX components");
        }
        List<Integer> teeTcbSvn = unsigned(td.teeTcbSvn());
        if (!reaches(teeTcbSvn, level.tdxComponents(), skipModuleBytes ? 2 : 0)) {
          continue;
        }
      }
      return level;
    }
    throw new VerificationException(
        VerificationFailure.TCB_LEVEL_NOT_FOUND,
        "No matching TCB level found: PCK "
            + "CPUSVN components "
            + cpuSvn
            + ", PCESVN "
            + pck.pceSvn()
            + (td == null ? "" : ", TEE_TCB_SVN " + td.teeTcbSvn().hex())
            + " reach no TCB level of FMSPC "
            + tcbInfo.fmspc().hex());
  }

  private static boolean reaches(List<Integer> actual, List<Integer> required, int from) {
    if (actual.size() != 16 || required.size() != 16) {
      return false;
    }
    for (int i = from; i < 16; i++) {
      if (actual.get(i) < required.get(i)) {
        return false;
      }
    }
    return true;
  }

  private static List<Integer> unsigned(Bytes b) {
    Integer[] out = new Integer[b.length()];
    for (int i = 0; i < out.length; i++) {
      out[i] = b.get(i);
    }
    return List.of(out);
  }

  private static VerificationException mismatch(String message) {
    return new VerificationException(VerificationFailure.COLLATERAL_MISMATCH, message);
  }

  private static VerificationException qeMismatch(String message) {
    return new VerificationException(VerificationFailure.QE_IDENTITY_MISMATCH, message);
  }
}
