package org.teekms.kms.wiring;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** Every {@code teekms.*} setting; documented in kms-server/README.md. */
@ConfigMapping(prefix = "teekms")
public interface KmsConfig {

  /** Deployment id shared by all replicas; binds the database and the sealed roots (AAD). */
  @WithDefault("tee-kms")
  String kmsId();

  /** This replica's name (audit entries, GetKmsInfo). */
  Optional<String> nodeId();

  /** Where the embedded PostgreSQL (and the simulator's sealing key file) live. */
  @WithDefault(".teekms/kms")
  Path dataDir();

  /** How long one database operation may take before the request is refused as KMS_UNAVAILABLE. */
  @WithDefault("10s")
  Duration dbTimeout();

  Simulator simulator();

  Sealing sealing();

  Admission admission();

  Rotation rotation();

  Audit audit();

  Chain chain();

  Onboarding onboarding();

  Custody custody();

  /**
   * Automatic threshold backup of root generations to the custodians registered on chain
   * (docs/root-custody.md §9).
   */
  interface Custody {
    /**
     * Back up every root generation this KMS creates (bootstrap and root rotation). Needs the
     * chain.
     */
    @WithDefault("false")
    boolean enabled();

    /**
     * The RootCustody contract (0x…) whose active custodians receive the shares and whose backups
     * are checked.
     */
    Optional<String> contractAddress();

    /**
     * Shares needed to recover a root (t); every active custodian on chain gets one share (n).
     * Required if enabled.
     */
    Optional<Integer> threshold();

    /**
     * The share store: a directory custodians read (shared volume, synced bucket). Required if
     * enabled.
     */
    Optional<Path> store();

    /**
     * true (default, fail closed): a new root generation becomes CURRENT, and a bootstrapped KMS
     * starts serving, only once its backup is published on chain exactly as this KMS made it.
     * false: as soon as the backup is in the store.
     */
    @WithDefault("true")
    boolean requirePublished();

    /** How often a root rotation waiting for its backup's publication reads the chain again. */
    @WithDefault("30s")
    Duration publicationCheckInterval();

    /**
     * How long startup waits for the publication of the current generation's backup
     * (require-published=true) before it fails; the backup stays staged and the next start waits
     * again.
     */
    @WithDefault("30m")
    Duration startupPublicationTimeout();

    /**
     * Recover this root generation from the custodians (docs/root-custody.md §6.4) when the
     * database holds no root generation, instead of creating generation 1: the node serves
     * teekms.v1.Recovery until t custodians' shares reconstructed the generation's published root.
     * Needs {@code enabled}. Measured into RTMR3 (keep it set on this node's later starts: removing
     * it changes the measurement and the sealing key). Unused once the database holds generations.
     */
    Optional<Integer> recoverGeneration();

    /** How long startup waits for a recovery ({@code recover-generation}) before it fails. */
    @WithDefault("24h")
    Duration recoveryTimeout();

    /**
     * During a recovery: how long the chain facts a share submission's signature is checked against
     * (the generation's published backup, the custodians' keys) are reused before the chain is read
     * again; 0s reads them for every submission.
     */
    @WithDefault("30s")
    Duration recoveryChainFactsTtl();
  }

  Operator operator();

  Tls tls();

  EnvPubkey envPubkey();

  Limits limits();

  /** Bounds on the work anyone can ask of the KMS without an attested certificate. */
  interface Limits {
    /**
     * Sustained calls per minute one source address may make to the services that need no client
     * certificate (KmsInfoService, Auditor, Rotation); AppEnv has its own budget
     * (teekms.env-pubkey.*).
     */
    @WithDefault("600")
    int unauthenticatedRequestsPerMinute();

    /** Such calls a source may make at once before the sustained rate applies. */
    @WithDefault("100")
    int unauthenticatedBurst();

    /**
     * Source addresses tracked at once (least recently seen forgotten first): bounds the limiter's
     * memory.
     */
    @WithDefault("100000")
    int maxSources();

    /**
     * TLS handshakes with a client certificate one source address may make per minute before its
     * certificates are left unverified (attested calls on such a connection are refused
     * RATE_LIMITED).
     */
    @WithDefault("6000")
    int handshakesPerMinute();

    /** Such handshakes a source may make at once before the sustained rate applies. */
    @WithDefault("1000")
    int handshakeBurst();

    /**
     * Client certificates verified at once (DCAP, event log, GPU evidence); more wait up to
     * verification-wait.
     */
    @WithDefault("16")
    int concurrentVerifications();

    /**
     * How long a handshake waits for a verification slot before its certificate is left unverified.
     */
    @WithDefault("2s")
    Duration verificationWait();

    /**
     * GetKmsInfo calls with a nonce (each needs a fresh TDX quote) served at once; more are refused
     * RATE_LIMITED.
     */
    @WithDefault("2")
    int concurrentQuotes();

    /**
     * The least time between two registry-owner reads caused by operator requests that the owner of
     * the last read cannot have signed (forgeries, or a new owner's first request after a
     * transfer); other such requests are refused without a chain call. A request the known owner
     * signed is always checked against a fresh read.
     */
    @WithDefault("1s")
    Duration operatorOwnerRecheck();

    /**
     * Operator requests reading the registry owner (and asking a contract owner's EIP-1271
     * isValidSignature) at once, across all sources; one more is refused CHAIN_UNAVAILABLE at once.
     */
    @WithDefault("4")
    int operatorOwnerCalls();

    /**
     * How long a contract (multisig) owner's refusal of one (request digest, signature) is reused
     * for the same request without asking the chain again; 0s asks every time. Approvals are never
     * reused.
     */
    @WithDefault("10s")
    Duration operatorVerdictTtl();
  }

  /** The unauthenticated AppEnv/GetAppEnvEncryptPubKey read: a token bucket per source address. */
  interface EnvPubkey {
    /** Sustained requests per minute one source address may make. */
    @WithDefault("60")
    int requestsPerMinute();

    /** Requests a source may make at once before the sustained rate applies. */
    @WithDefault("20")
    int burst();

    /**
     * Source addresses tracked at once (least recently seen forgotten first): bounds the limiter's
     * memory.
     */
    @WithDefault("100000")
    int maxSources();
  }

  interface Tls {
    /**
     * TLS implementation of the RA-TLS port: {@code auto} (default: {@code openssl}), {@code
     * openssl} (BoringSSL from netty-tcnative: the handshake's key exchange and signatures in
     * native code; no session tickets, client certificates up to 128 KiB) or {@code jdk} (JSSE, the
     * same 128 KiB bound). Certificates are verified by the same RA-TLS trust manager either way
     * (BoringSSL resumes no session; JSSE issues stateful 32-byte tickets, and every call on a
     * resumed session still asks the trust manager for the session's verified identity). {@code
     * auto} and {@code openssl} refuse to start on a platform without the native library.
     */
    @WithDefault("auto")
    TlsEngine engine();
  }

  enum TlsEngine {
    AUTO,
    OPENSSL,
    JDK
  }

  Tee tee();

  Collateral collateral();

  Gpu gpu();

  /** Verification of the GPU evidence in clients' RA-TLS certificates (docs/gpu-attestation.md). */
  interface Gpu {
    /**
     * {@code nvidia} (NVIDIA's device-identity and RIM roots; needs a RIM source), {@code
     * simulator} (the GPU simulator's roots, derived from teekms.simulator.seed; needs
     * teekms.simulator.enabled=true) or {@code disabled} (no GPU evidence is verified: every app
     * whose on-chain policy requires GPUs is refused with GPU_VERIFIER_NOT_CONFIGURED). Default:
     * simulator when the simulator is enabled, else nvidia.
     */
    Optional<String> verification();

    /** PEM device-identity root replacing NVIDIA's Device Identity CA (nvidia mode only). */
    Optional<Path> deviceRootCa();

    /** PEM RIM-signing root replacing NVIDIA's CoRIM signing Root CA (nvidia mode only). */
    Optional<Path> rimRootCa();

    Rim rim();

    Ocsp ocsp();

    interface Rim {
      /** Directory of RIM files (*.swidtag / *.xml), loaded and signature-checked at startup. */
      Optional<Path> directory();

      /**
       * NVIDIA's RIM service base URL (e.g. https://rim.attestation.nvidia.com/v1/rim/); RIMs the
       * directory lacks are fetched by RIM id, signature-checked and cached.
       */
      Optional<String> serviceUrl();

      /** Per-request timeout of RIM service fetches. */
      @WithDefault("10s")
      Duration timeout();

      /** How many fetched RIMs to keep. */
      @WithDefault("1000")
      int cacheSize();
    }

    interface Ocsp {
      /** OCSP responder for GPU device chains and RIM signer chains. */
      @WithDefault("https://ocsp.ndis.nvidia.com/")
      String responderUrl();

      /**
       * {@code fail-closed} (only a fresh GOOD answer passes), {@code grace} (an unreachable
       * responder passes; revoked/unknown/bad answers never do) or {@code disabled} (refused in the
       * prod profile).
       */
      @WithDefault("fail-closed")
      String mode();

      /** Per-request timeout. */
      @WithDefault("10s")
      Duration timeout();

      /** How old a response without nextUpdate may be. */
      @WithDefault("24h")
      Duration maxAge();

      /** How many definitive answers to cache (until each goes stale). */
      @WithDefault("10000")
      int cacheSize();
    }
  }

  interface Tee {
    /**
     * Where this node's quotes and event log come from: {@code configfs-tsm} (production: the TD's
     * configfs-tsm reports, its CCEL and dstack's runtime event log) or {@code simulator} (needs
     * teekms.simulator.enabled). Unset: {@code simulator} when the simulator is enabled, else
     * {@code configfs-tsm}.
     */
    Optional<String> quoteProvider();

    /** configfs-tsm report directory. */
    @WithDefault("/sys/kernel/config/tsm/report")
    Path configfsPath();

    /** ACPI CCEL table (TDX firmware event log descriptor). */
    @WithDefault("/sys/firmware/acpi/tables/CCEL")
    Path ccelTable();

    /** CCEL log area (TCG crypto-agile event log of RTMR0-2). */
    @WithDefault("/sys/firmware/acpi/tables/data/CCEL")
    Path ccelData();

    /**
     * dstack guest's runtime event log (RTMR3; JSON lines). Absent = no runtime event recorded yet.
     */
    @WithDefault("/run/log/dstack/runtime_events.log")
    Path runtimeEventLog();
  }

  interface Collateral {
    /**
     * Intel PCS or PCCS base URL (v4 API) from which clients' quote collateral is fetched (cached
     * until its nextUpdate). Required with the configfs-tsm quote provider.
     */
    Optional<String> pccsUrl();

    /** PEM trust anchor for clients' quotes; default the Intel SGX Root CA bundled with ra-tls. */
    Optional<Path> rootCa();

    /** Per-request timeout of collateral fetches. */
    @WithDefault("30s")
    Duration timeout();

    /**
     * How long fetched collateral (PCK CRL, TCB info, QE identity, root CA CRL) is used at most,
     * however late its nextUpdate: a refresh is tried from half this age on, and past it a failed
     * refresh refuses clients (KMS_UNAVAILABLE) instead of using the old copy. Bounds how late an
     * Intel revocation or TCB downgrade is seen.
     */
    @WithDefault("24h")
    Duration maxAge();
  }

  Ratls ratls();

  interface Ratls {
    /**
     * Longest validity period (notAfter − notBefore) of a client's RA-TLS certificate; longer ones
     * are refused (CERTIFICATE_LIFETIME_EXCEEDED). The KMS's own certificate lives 24 h.
     */
    @WithDefault("24h")
    Duration maxCertificateLifetime();

    /**
     * How long a verified client identity is used (by reconnects, and by the calls of one
     * connection) before the certificate is verified again with current collateral and policy.
     */
    @WithDefault("10m")
    Duration identityCacheTtl();

    /**
     * How far this node's clock and a peer's may differ: clients' RA-TLS certificates are accepted
     * up to this long before their notBefore and after their notAfter, and this node back-dates its
     * own certificate by as much (clients whose clocks are behind still accept it). 0 to 1 h
     * (startup fails beyond); measured, since it loosens the validity check. Beyond it a refusal
     * names the clock: {@code CERTIFICATE_NOT_YET_VALID}, or {@code KMS_CLOCK_SKEW} (UNAVAILABLE)
     * when this node's clock is off the chain's by more than this.
     */
    @WithDefault("10m")
    Duration clockSkewAllowance();
  }

  interface Operator {
    /**
     * How far an operator request's signed timestamp may be from this node's clock (teekms rotate).
     */
    @WithDefault("5m")
    Duration maxSkew();
  }

  interface Onboarding {
    /**
     * {@code host:port} of an existing KMS node of this deployment. When set and this node's
     * database holds no root generation, startup obtains them from that node over mutual RA-TLS
     * (instead of generating generation 1).
     */
    Optional<String> source();

    /** Deadline of the onboarding call. */
    @WithDefault("30s")
    Duration timeout();
  }

  interface Simulator {
    /** Enables simulated TDX/sealing. Logged at startup; refused in the prod profile. */
    @WithDefault("false")
    boolean enabled();

    /**
     * Hex seed of the simulated TDX platform. Processes sharing a seed share the simulated root CA,
     * so simulated CVMs (guest agents, load generators) and this KMS verify each other. Unset: a
     * fresh random platform.
     */
    Optional<String> seed();

    /**
     * The tee-simulator jar (or classes directory), read only when the simulator is used. No
     * production artifact contains the simulator, so a packaged KMS that simulates is given it here
     * (the demo and the load generator do); unset, it must already be on the class path (tests).
     */
    Optional<List<Path>> classpath();
  }

  interface Sealing {
    /**
     * {@code local-sgx} (production: dstack's local key provider; see README) or {@code file}
     * (simulator only).
     */
    @WithDefault("local-sgx")
    String provider();

    /** Key file of the {@code file} provider; default {data-dir}/sealing.key. */
    Optional<Path> keyFile();

    /** {@code host:port} of the local key provider (required for {@code local-sgx}). */
    Optional<String> providerAddress();

    /** The provider enclave's MRENCLAVE, 64 hex digits (required for {@code local-sgx}). */
    Optional<String> providerMrenclave();

    /** Connect and response deadline of the key provider exchange. */
    @WithDefault("10s")
    Duration providerTimeout();

    /** TCB statuses accepted for the provider's SGX platform. */
    @WithDefault("UpToDate")
    List<String> providerAcceptedTcbStatuses();

    /** Intel PCS or PCCS (v4 API) serving the collateral that verifies the provider's SGX quote. */
    @WithDefault("https://api.trustedservices.intel.com")
    String collateralUrl();
  }

  interface Admission {
    /** TCB statuses accepted by the KMS itself, whatever the chain says. */
    @WithDefault("UpToDate")
    List<String> acceptedTcbStatuses();

    /** Intel advisory ids tolerated. */
    Optional<List<String>> acceptedAdvisories();

    /** When set, CVMs must have measured exactly this key-provider (the KMS they trust). */
    Optional<String> requiredKeyProvider();
  }

  interface Audit {
    /**
     * How often the audit chain's head is anchored on chain (KmsRegistry.anchorAuditHead from the
     * KMS's kms-audit-anchor account), e.g. {@code 1h}; {@code off} (default) never. The account
     * must be the registry's auditAnchorer (set by the owner) and hold gas.
     */
    @WithDefault("off")
    String anchorInterval();

    /**
     * How often VerifyAuditChain walks the whole chain from the genesis hash again; in between, a
     * call walks only the entries appended since the last verified checkpoint.
     */
    @WithDefault("1h")
    Duration fullVerifyInterval();

    /**
     * Handshake-level refusals (certificate did not verify) one source address may have audited per
     * minute under the app its certificate claims; the excess is only counted ({@code
     * teekms_audit_claimed_refusals_total{result= "dropped"}}).
     */
    @WithDefault("60")
    int claimedRefusalsPerMinute();

    /** Such refusals a source may have audited at once before the per-minute rate applies. */
    @WithDefault("20")
    int claimedRefusalBurst();

    /**
     * Refusals kept in memory while the database is unreachable, appended in order when it answers
     * again; beyond it a refusal is only counted ({@code
     * teekms_audit_refusal_backlog_total{result="dropped"}}). 0 keeps none.
     */
    @WithDefault("10000")
    int refusalBacklog();

    /** How often a non-empty refusal backlog is retried when no other write triggers it. */
    @WithDefault("5s")
    Duration refusalBacklogRetry();
  }

  interface Rotation {
    /** How often this replica looks for runnable rotation job steps. */
    @WithDefault("10s")
    Duration pollInterval();

    /**
     * How long a retired root generation still derives its pinned versions before it is destroyed.
     */
    @WithDefault("30d")
    Duration rootGrace();

    /** Apps moved to a new root generation per step. */
    @WithDefault("100")
    int appBatch();

    /**
     * How often the on-chain rotationDue of every served app is read for the
     * teekms_app_rotation_due gauge.
     */
    @WithDefault("5m")
    Duration dueCheckInterval();
  }

  interface Chain {
    /**
     * JSON-RPC endpoints of the chain holding the KMS registry, run by independent operators: every
     * policy read goes to all of them, {@link #quorum()} must answer, and any two different answers
     * deny (see ChainEndpoints). Unset (and no rpc-url): every admission is CHAIN_UNAVAILABLE.
     */
    Optional<List<String>> rpcUrls();

    /** How many of {@link #rpcUrls()} must answer alike; default a majority (n / 2 + 1). */
    Optional<Integer> quorum();

    /**
     * One endpoint that alone decides every admission: accepted only with {@link #allowSingleRpc()}
     * (development, tests, the demo). Production lists several in rpc-urls.
     */
    Optional<String> rpcUrl();

    /**
     * Allows a single RPC endpoint (rpc-url, or rpc-urls with one entry): a lying endpoint then
     * decides.
     */
    @WithDefault("false")
    boolean allowSingleRpc();

    /**
     * A pinned block older than this (its timestamp against this node's clock) is refused as stale.
     */
    @WithDefault("30m")
    Duration maxBlockAge();

    @WithDefault("0")
    long chainId();

    Optional<String> registryAddress();

    @WithDefault("3")
    int confirmations();

    /**
     * How long one pinned block serves further admissions before the head is read again (0 = pin
     * per admission). Saves three of five RPC requests per admission; policy changes apply at most
     * this much later.
     */
    @WithDefault("1s")
    java.time.Duration pinReuse();
  }
}
