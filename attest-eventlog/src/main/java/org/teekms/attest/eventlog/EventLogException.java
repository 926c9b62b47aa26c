package org.teekms.attest.eventlog;

/**
 * An event log that is malformed, does not replay to the quoted registers, or breaks the
 * boot-sequence rules.
 */
public final class EventLogException extends Exception {
  private static final long serialVersionUID = 1L;

  public EventLogException(String message) {
    super(message);
  }
}
