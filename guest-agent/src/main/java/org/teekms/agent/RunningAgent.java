package org.teekms.agent;

import java.time.Clock;
import java.util.Objects;
import java.util.Optional;
import org.teekms.agent.boot.CvmIdentity;
import org.teekms.agent.boot.KmsClient;
import org.teekms.agent.env.DecryptedEnv;
import org.teekms.agent.keys.AgentKeys;
import org.teekms.attest.gpu.GpuEvidenceProvider;
import org.teekms.attest.provider.QuoteProvider;
import org.teekms.attest.provider.QuoteProviderException;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.ratls.RaTlsCredentials;
import org.teekms.attest.ratls.RaTlsIdentity;

/**
 * A booted agent: who this CVM is, the keys the KMS released (memory only), our RA-TLS credentials,
 * the quote and event-log handles, the GPU evidence provider (null without GPUs), the KMS
 * connection (for SignCert) and the KMS identity accepted in the handshake. Shared by the key API
 * and the signing proxy.
 */
public final class RunningAgent implements AutoCloseable {
  private final CvmIdentity identity;
  private final AgentKeys keys;
  private final RaTlsCredentials credentials;
  private final QuoteProvider quotes;
  private final RuntimeEventLog eventLog;
  private final GpuEvidenceProvider gpu;
  private final KmsClient kms;
  private final Optional<RaTlsIdentity> kmsIdentity;
  private final Clock clock;
  private final DecryptedEnv env;

  public RunningAgent(
      CvmIdentity identity,
      AgentKeys keys,
      RaTlsCredentials credentials,
      QuoteProvider quotes,
      RuntimeEventLog eventLog,
      GpuEvidenceProvider gpu,
      KmsClient kms,
      Optional<RaTlsIdentity> kmsIdentity,
      Clock clock) {
    this(
        identity,
        keys,
        credentials,
        quotes,
        eventLog,
        gpu,
        kms,
        kmsIdentity,
        clock,
        DecryptedEnv.NONE);
  }

  public RunningAgent(
      CvmIdentity identity,
      AgentKeys keys,
      RaTlsCredentials credentials,
      QuoteProvider quotes,
      RuntimeEventLog eventLog,
      GpuEvidenceProvider gpu,
      KmsClient kms,
      Optional<RaTlsIdentity> kmsIdentity,
      Clock clock,
      DecryptedEnv env) {
    this.env = Objects.requireNonNull(env);
    this.identity = Objects.requireNonNull(identity);
    this.keys = Objects.requireNonNull(keys);
    this.credentials = Objects.requireNonNull(credentials);
    this.quotes = Objects.requireNonNull(quotes);
    this.eventLog = Objects.requireNonNull(eventLog);
    this.gpu = gpu;
    this.kms = kms;
    this.kmsIdentity = kmsIdentity;
    this.clock = clock;
  }

  public CvmIdentity identity() {
    return identity;
  }

  public AgentKeys keys() {
    return keys;
  }

  public RaTlsCredentials credentials() {
    return credentials;
  }

  public RuntimeEventLog eventLog() {
    return eventLog;
  }

  public Optional<GpuEvidenceProvider> gpu() {
    return Optional.ofNullable(gpu);
  }

  public Optional<KmsClient> kms() {
    return Optional.ofNullable(kms);
  }

  public Optional<RaTlsIdentity> kmsIdentity() {
    return kmsIdentity;
  }

  /**
   * The decrypted environment (names, values, the key version that opened it; NONE without a blob).
   */
  public DecryptedEnv env() {
    return env;
  }

  public Clock clock() {
    return clock;
  }

  /** A quote over {@code reportData} (64 bytes) together with the event log it replays against. */
  public RuntimeEventLog.QuoteWithLog quote(byte[] reportData) throws QuoteProviderException {
    return eventLog.quote(quotes, reportData);
  }

  @Override
  public void close() {
    if (kms != null) {
      kms.close();
    }
    keys.close();
  }
}
