package org.teekms.kms.adapters;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLSession;
import org.teekms.attest.eventlog.DstackBootSequence;
import org.teekms.attest.eventlog.DstackEventLogCodec;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.attest.ratls.RaTlsCertificateParser;
import org.teekms.keys.AppId;

/**
 * The app a client's RA-TLS certificate <em>claims</em>, read from the certificate without
 * verifying anything: the payload of the single {@code app-id} runtime event (IMR 3, 20 bytes) in
 * its event log. Only for filing a refusal of that certificate under the app it names
 * (docs/audit-log.md, "Refusals under a claimed app"); never an identity: the event log was not
 * replayed against a verified quote.
 */
public final class ClaimedApp {

  private ClaimedApp() {}

  /**
   * The claimed app id, or empty when the session has no parseable RA-TLS certificate naming
   * exactly one app.
   */
  public static Optional<AppId> of(SSLSession session) {
    if (session == null) {
      return Optional.empty();
    }
    Certificate[] peer;
    try {
      peer = session.getPeerCertificates();
    } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
      return Optional.empty();
    }
    if (peer == null || peer.length == 0 || !(peer[0] instanceof X509Certificate x509)) {
      return Optional.empty();
    }
    try {
      List<EventLogEntry> entries =
          DstackEventLogCodec.parse(
              RaTlsCertificateParser.parse(x509).eventLogJson().toByteArray());
      List<byte[]> named =
          entries.stream()
              .filter(e -> e.imr() == 3 && DstackBootSequence.APP_ID.equals(e.name()))
              .map(EventLogEntry::payload)
              .toList();
      if (named.size() != 1 || named.get(0).length != AppId.LENGTH) {
        return Optional.empty();
      }
      return Optional.of(AppId.of(named.get(0)));
    } catch (Exception unparseable) {
      // A certificate that does not even parse names no app; its refusal is only counted.
      return Optional.empty();
    }
  }
}
