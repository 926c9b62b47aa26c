package org.teekms.attest.provider;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.teekms.attest.eventlog.DstackEventLogCodec;
import org.teekms.attest.eventlog.EventLogEntry;
import org.teekms.crypto.Bytes;

/**
 * The CVM-side event log: emits dstack runtime events (extend RTMR3, then append) and hands out a
 * quote together with the log as it stood when the quote was taken, so the two always replay
 * against each other. Thread-safe: emission and quoting are serialized.
 */
public final class RuntimeEventLog implements RuntimeEventRecorder {
  private final RtmrExtender extender;
  private final List<EventLogEntry> entries;

  /**
   * @param initial events already measured (firmware events, dstack's boot events) in order
   */
  public RuntimeEventLog(RtmrExtender extender, List<EventLogEntry> initial) {
    this.extender = extender;
    this.entries = new ArrayList<>(initial);
  }

  @Override
  public synchronized void emit(String name, byte[] payload) throws QuoteProviderException {
    EventLogEntry e = EventLogEntry.runtime(name, payload);
    extender.extend(3, e.digest());
    entries.add(e);
  }

  public synchronized List<EventLogEntry> entries() {
    return List.copyOf(entries);
  }

  @Override
  public synchronized List<EventLogEntry> runtimeEvents() {
    return entries.stream().filter(e -> e.imr() == 3).toList();
  }

  /** A quote over {@code reportData} and the event log (dstack JSON) it replays against. */
  public synchronized QuoteWithLog quote(QuoteProvider provider, byte[] reportData)
      throws QuoteProviderException {
    byte[] quote = provider.quote(reportData);
    return new QuoteWithLog(Bytes.copyOf(quote), DstackEventLogCodec.toJson(entries));
  }

  /** A quote and its event log. */
  public record QuoteWithLog(Bytes quote, String eventLogJson) {
    public QuoteWithLog {
      Objects.requireNonNull(quote, "quote");
      Objects.requireNonNull(eventLogJson, "eventLogJson");
    }
  }
}
