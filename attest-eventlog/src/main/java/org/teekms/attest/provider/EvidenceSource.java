package org.teekms.attest.provider;

/**
 * A quote over given REPORTDATA together with the event log it replays against, taken as one step
 * (no event can slip between them). Implementations: {@link RuntimeEventLog} with its {@link
 * QuoteProvider} (a log this process keeps), {@link TdEventLog} (the log the firmware and dstack's
 * guest keep in a real TD).
 */
@FunctionalInterface
public interface EvidenceSource {
  RuntimeEventLog.QuoteWithLog quote(byte[] reportData) throws QuoteProviderException;
}
