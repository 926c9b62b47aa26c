package org.teekms.agent.boot;

import com.google.protobuf.ByteString;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.logging.Logger;
import javax.net.ssl.SSLException;
import org.teekms.agent.RunningAgent;
import org.teekms.agent.env.DecryptedEnv;
import org.teekms.agent.env.EnvFiles;
import org.teekms.agent.env.EnvSecretException;
import org.teekms.agent.env.EnvSettings;
import org.teekms.agent.env.EnvUnsealer;
import org.teekms.agent.keys.AgentKeys;
import org.teekms.agent.keys.AppKeysVerifier;
import org.teekms.attest.gpu.GpuEvidenceProvider;
import org.teekms.attest.provider.QuoteProvider;
import org.teekms.attest.provider.QuoteProviderException;
import org.teekms.attest.provider.RuntimeEventLog;
import org.teekms.attest.ratls.RaTlsCertificateFactory;
import org.teekms.attest.ratls.RaTlsCredentials;
import org.teekms.attest.ratls.RaTlsKeyManager;
import org.teekms.attest.ratls.RaTlsTrustManager;
import org.teekms.attest.ratls.RaTlsVerifier;
import org.teekms.proto.GetAppKeysRequest;
import org.teekms.proto.GetAppKeysResponse;

/**
 * The boot sequence of the guest agent:
 *
 * <ol>
 *   <li>measure the app identity into RTMR3 ({@link BootMeasurements}), and on a GPU CVM the GPUs
 *       present ({@code gpu-devices});
 *   <li>make the RA-TLS certificate (fresh key, GPU evidence with the key-bound nonce measured into
 *       RTMR3, quote, event log);
 *   <li>check this CVM's own MRCONFIGID, read from that quote, as dstack's guest does: zero, or
 *       {@code 0x01 ‖ compose hash ‖ 0…} naming the compose just measured; anything else means the
 *       host launched the TD for another configuration, and the boot fails (MR_CONFIG_ID_MISMATCH)
 *       before any key is asked for;
 *   <li>call GetAppKeys over mutual RA-TLS, accepting only a KMS that {@link KmsAuthorizer} allows,
 *       with retries on transient errors;
 *   <li>check the released keys ({@link AppKeysVerifier});
 *   <li>open the encrypted environment the host gave the CVM, if any ({@link EnvUnsealer}: measured
 *       compose, AEAD under a served version's env-encryption key, dstack's JSON, {@code
 *       allowed_envs}), and write it for the app ({@link EnvFiles});
 *   <li>close the setup phase ({@code system-ready}).
 * </ol>
 *
 * Keys stay in memory. Any denial or rejected response is a {@link BootFailure} whose message says
 * why.
 */
public final class AgentBoot {
  private static final Logger LOG = Logger.getLogger(AgentBoot.class.getName());

  /** Where the KMS is, how patiently to ask it, and where the encrypted environment is. */
  public record Settings(
      String kmsHost,
      int kmsPort,
      Backoff backoff,
      Duration callTimeout,
      Duration certificateValidity,
      EnvSettings env) {
    public Settings(
        String kmsHost,
        int kmsPort,
        Backoff backoff,
        Duration callTimeout,
        Duration certificateValidity) {
      this(kmsHost, kmsPort, backoff, callTimeout, certificateValidity, EnvSettings.NONE);
    }

    public Settings {
      Objects.requireNonNull(kmsHost, "kmsHost");
      Objects.requireNonNull(env, "env");
      if (kmsPort < 1 || kmsPort > 65535) {
        throw new IllegalArgumentException("KMS port " + kmsPort);
      }
    }
  }

  private AgentBoot() {}

  /**
   * Step 3: the MRCONFIGID in this CVM's own quote (the one in its RA-TLS certificate) is zero or
   * dstack's {@code 0x01 ‖ compose hash ‖ 0x00 × 15} over the compose this agent measured; else the
   * boot fails with the reason ({@link org.teekms.attest.eventlog.MrConfigId}).
   */
  static void checkOwnMrConfigId(java.security.cert.X509Certificate certificate, CvmIdentity id)
      throws BootFailure {
    org.teekms.attest.tdx.TdReport td;
    try {
      td =
          org.teekms.attest.tdx.TdxQuote.parse(
                  org.teekms.attest.ratls.RaTlsCertificateParser.parse(certificate)
                      .quote()
                      .toByteArray())
              .tdReport();
    } catch (org.teekms.attest.ratls.RaTlsException | org.teekms.attest.tdx.QuoteParseException e) {
      throw new BootFailure(
          "ATTESTATION_UNAVAILABLE",
          "this CVM's own quote could not be read for its MRCONFIGID: " + e.getMessage(),
          e);
    }
    if (td == null) {
      throw new BootFailure(
          "ATTESTATION_UNAVAILABLE", "this CVM's own quote is not a TDX quote", null);
    }
    Optional<String> mismatch =
        org.teekms.attest.eventlog.MrConfigId.mismatch(td.mrConfigId(), id.compose().composeHash());
    if (mismatch.isPresent()) {
      throw new BootFailure(
          "MR_CONFIG_ID_MISMATCH",
          "the host launched this CVM with a launch configuration that does not name the measured "
              + "app-compose: "
              + mismatch.get()
              + "; refusing to boot",
          null);
    }
  }

  /**
   * @param kmsVerifier how to verify the KMS's RA-TLS certificate (DCAP trust anchor, collateral,
   *     quote policy); its application policy is replaced by the {@link KmsAuthorizer}
   * @param gpu null when the CVM has no GPU to attest
   */
  public static RunningAgent boot(
      CvmIdentity identity,
      QuoteProvider quotes,
      RuntimeEventLog log,
      GpuEvidenceProvider gpu,
      RaTlsVerifier.Builder kmsVerifier,
      KmsAuthorizer.KmsRegistry registry,
      Settings settings,
      Clock clock,
      Backoff.Sleeper sleeper)
      throws BootFailure {
    return boot(identity, quotes, log, gpu, kmsVerifier, registry, null, settings, clock, sleeper);
  }

  /**
   * As above; with {@code published} (the on-chain registry), a KMS trusted because the registry
   * lists it must also have released keys under the KMS identity published there ({@link
   * PublishedKmsIdentity}), else the boot fails.
   */
  public static RunningAgent boot(
      CvmIdentity identity,
      QuoteProvider quotes,
      RuntimeEventLog log,
      GpuEvidenceProvider gpu,
      RaTlsVerifier.Builder kmsVerifier,
      KmsAuthorizer.KmsRegistry registry,
      PublishedKmsIdentity.Registry published,
      Settings settings,
      Clock clock,
      Backoff.Sleeper sleeper)
      throws BootFailure {
    RaTlsCredentials credentials;
    try {
      BootMeasurements.measureIdentity(log, identity);
      if (gpu != null) {
        BootMeasurements.measureGpuDevices(log, gpu);
      }
      credentials =
          new RaTlsCertificateFactory(quotes, log, gpu, clock, settings.certificateValidity())
              .create("teekms-agent " + identity.appId().toHex());
    } catch (QuoteProviderException e) {
      throw new BootFailure(
          "ATTESTATION_UNAVAILABLE", "measuring or quoting failed: " + e.getMessage(), e);
    }
    checkOwnMrConfigId(credentials.certificate(), identity);
    KmsAuthorizer authorizer = new KmsAuthorizer(registry, identity.compose().pinnedKmsRoot());
    RaTlsTrustManager trust = new RaTlsTrustManager(kmsVerifier.policy(authorizer).build());
    KmsClient client;
    try {
      client =
          new KmsClient(
              settings.kmsHost(),
              settings.kmsPort(),
              new RaTlsKeyManager(credentials),
              trust,
              settings.backoff(),
              sleeper,
              settings.callTimeout());
    } catch (SSLException e) {
      throw new BootFailure("TLS_SETUP", "cannot set up TLS: " + e.getMessage(), e);
    }
    boolean ok = false;
    try {
      byte[] nonce = new byte[32];
      new SecureRandom().nextBytes(nonce);
      GetAppKeysResponse response =
          client.getAppKeys(
              GetAppKeysRequest.newBuilder().setClientNonce(ByteString.copyFrom(nonce)).build());
      AgentKeys keys;
      try {
        keys =
            AppKeysVerifier.verify(
                response,
                identity.appId(),
                identity.instanceId(),
                identity.compose().pinnedKmsRoot());
      } catch (AppKeysVerifier.KeysRejected e) {
        throw new BootFailure("KMS_RESPONSE_REJECTED", e.getMessage(), e);
      }
      if (published != null && authorizer.acceptedViaRegistry()) {
        try {
          PublishedKmsIdentity.check(response, keys, published);
        } catch (BootFailure e) {
          keys.close();
          throw e;
        }
      }
      DecryptedEnv env;
      try {
        env = openEnvironment(settings.env(), identity, keys, log);
      } catch (EnvSecretException e) {
        keys.close();
        throw new BootFailure(e.reason().name(), e.getMessage(), null);
      }
      try {
        BootMeasurements.systemReady(log);
      } catch (QuoteProviderException e) {
        keys.close();
        throw new BootFailure(
            "ATTESTATION_UNAVAILABLE", "measuring system-ready failed: " + e.getMessage(), e);
      }
      LOG.info(
          "keys received: app "
              + identity.appId().toHex()
              + ", key version "
              + keys.currentVersion()
              + ", grant "
              + keys.grantId()
              + ", KMS root "
              + keys.kmsRootAddress().toChecksumString());
      ok = true;
      return new RunningAgent(
          identity,
          keys,
          credentials,
          quotes,
          log,
          gpu,
          client,
          authorizer.acceptedKms(),
          clock,
          env);
    } finally {
      if (!ok) {
        client.close();
      }
    }
  }

  /** Step 5. Names and the key version are logged, never values. */
  static DecryptedEnv openEnvironment(
      EnvSettings settings, CvmIdentity identity, AgentKeys keys, RuntimeEventLog log)
      throws EnvSecretException {
    Optional<byte[]> blob = settings.readBlob();
    DecryptedEnv env = DecryptedEnv.NONE;
    if (blob.isPresent()) {
      env =
          EnvUnsealer.unseal(
              blob.get(),
              EnvUnsealer.envKeys(keys.versions()),
              keys.currentVersion(),
              identity.compose().bytes().toByteArray(),
              identity.compose().allowedEnvs(),
              log.entries());
      LOG.info(
          "encrypted environment opened with key version "
              + env.keyVersion()
              + " (current "
              + keys.currentVersion()
              + "): "
              + env.names());
    }
    if (settings.outputDir().isPresent()) {
      EnvFiles.write(settings.outputDir().get(), env, settings.requireTmpfs());
    }
    return env;
  }
}
