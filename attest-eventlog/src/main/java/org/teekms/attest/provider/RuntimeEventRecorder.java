package org.teekms.attest.provider;

import java.util.List;
import org.teekms.attest.eventlog.EventLogEntry;

/**
 * Where this TD's RTMR3 runtime events are measured and logged: {@link RuntimeEventLog} (a log this
 * process keeps, simulator) or {@link TdEventLog} (dstack's runtime event file in a real TD,
 * extended through an {@link RtmrExtender}).
 */
public interface RuntimeEventRecorder {

  /** The RTMR3 runtime events measured so far in this boot, in order. */
  List<EventLogEntry> runtimeEvents() throws QuoteProviderException;

  /** Extends RTMR3 with the event's digest, then logs it (dstack's order). */
  void emit(String name, byte[] payload) throws QuoteProviderException;
}
