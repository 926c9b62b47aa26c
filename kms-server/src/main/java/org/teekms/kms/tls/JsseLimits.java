package org.teekms.kms.tls;

import org.jboss.logging.Logger;

/**
 * JSSE settings the RA-TLS port needs for CVM certificates that carry several GPUs' evidence
 * (docs/ra-tls.md §6).
 *
 * <p>A CVM's certificate with eight Hopper GPUs' evidence is about 60-80 KiB and travels in one TLS
 * handshake message. JSSE refuses any handshake message over {@code
 * jdk.tls.maxHandshakeMessageSize} (default 32768), so the bound is raised to {@link
 * #MAX_HANDSHAKE_MESSAGE_BYTES}: eight GPUs plus margin, not unlimited (a peer still cannot make
 * the KMS buffer more than that per message). JSSE's stateless session tickets would carry the
 * client's whole certificate back to it inside a NewSessionTicket (over 64 KiB with eight GPUs,
 * past what clients accept), so the server issues stateful tickets instead ({@code
 * jdk.tls.server.enableSessionTicketExtension=false}).
 *
 * <p>Both are JVM-wide properties JSSE reads once, when its first TLS context is built: {@link
 * #install()} runs before that (KmsMain, then RaTlsSetup, like {@link
 * FastEcdsaProvider#install()}). A value the operator set explicitly is kept.
 */
public final class JsseLimits {

  /**
   * The largest TLS handshake message (the client's Certificate message) the KMS accepts: 128 KiB.
   */
  static final int MAX_HANDSHAKE_MESSAGE_BYTES = 128 * 1024;

  static final String MAX_HANDSHAKE_MESSAGE_SIZE = "jdk.tls.maxHandshakeMessageSize";
  static final String SERVER_SESSION_TICKETS = "jdk.tls.server.enableSessionTicketExtension";

  private static final Logger LOG = Logger.getLogger(JsseLimits.class);

  private JsseLimits() {}

  public static void install() {
    String size = System.getProperty(MAX_HANDSHAKE_MESSAGE_SIZE);
    if (size == null) {
      System.setProperty(MAX_HANDSHAKE_MESSAGE_SIZE, String.valueOf(MAX_HANDSHAKE_MESSAGE_BYTES));
    } else if (parse(size) < MAX_HANDSHAKE_MESSAGE_BYTES) {
      LOG.warnf(
          "%s=%s is below %d bytes: CVM certificates with several GPUs' evidence (8 GPUs: ~60-80 KiB) fail the "
              + "TLS handshake",
          MAX_HANDSHAKE_MESSAGE_SIZE, size, MAX_HANDSHAKE_MESSAGE_BYTES);
    }
    if (System.getProperty(SERVER_SESSION_TICKETS) == null) {
      System.setProperty(SERVER_SESSION_TICKETS, "false");
    }
  }

  private static long parse(String value) {
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
