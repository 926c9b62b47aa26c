package org.teekms.cli;

import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.teekms.attest.tdx.collateral.CachingCollateralSource;
import org.teekms.attest.tdx.collateral.CollateralSource;
import org.teekms.governance.PolicyReaderConfig;
import org.teekms.verifier.service.KmsAuditor;
import org.teekms.verifier.service.VerifierService;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code teekms verifier}: the HTTP verifier service and its web page. */
@Command(
    name = "verifier",
    mixinStandardHelpOptions = true,
    description = "The HTTP verifier service (JSON endpoints, OpenAPI description, web page).",
    subcommands = {VerifierCommand.Serve.class})
public final class VerifierCommand extends CommandGroup {

  /**
   * {@code teekms verifier serve}: runs {@link VerifierService} until interrupted. Collateral comes
   * from a PCCS through the caching client (or from files); the expected identity of {@code POST
   * /verify/response} may be an app's on-chain policy when {@code --rpc-url} is given.
   */
  @Command(
      name = "serve",
      mixinStandardHelpOptions = true,
      description =
          "Serve POST /verify/response, /verify/quote, /verify/gpu, GET /policy/{app}, /audit/anchor, "
              + "/audit/events (with --kms), /openapi.json and the web page at /. Prints {\"listening\": URL} once it listens, then runs until interrupted.")
  public static final class Serve implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
        names = "--host",
        defaultValue = "127.0.0.1",
        paramLabel = "ADDRESS",
        description =
            "Address to listen on (default 127.0.0.1; put a TLS proxy in front to publish it).")
    String host;

    @Option(
        names = "--port",
        defaultValue = "8090",
        paramLabel = "PORT",
        description = "Port (default 8090).")
    int port;

    @Option(
        names = "--rpc-url",
        paramLabel = "URL",
        description =
            "JSON-RPC endpoint of the chain holding the registry (enables \"app\" identities and /policy).")
    String rpcUrl;

    @Option(names = "--chain-id", paramLabel = "ID", description = "Chain id of --rpc-url.")
    Long chainId;

    @Option(names = "--registry", paramLabel = "ADDRESS", description = "The KmsRegistry contract.")
    String registry;

    @Option(
        names = "--confirmations",
        defaultValue = "0",
        paramLabel = "N",
        description = "Read policies at head - N (default 0).")
    int confirmations;

    @Option(
        names = "--pccs-url",
        paramLabel = "URL",
        description =
            "Intel PCS / PCCS (v4 API) to fetch collateral from, cached (same as --pccs).")
    String pccsUrl;

    @Option(
        names = "--max-body",
        defaultValue = "4194304",
        paramLabel = "BYTES",
        description = "Largest request body accepted (default 4 MiB).")
    long maxBody;

    @Option(
        names = "--timeout",
        defaultValue = "30",
        paramLabel = "SECONDS",
        description = "Longest a request may run (default 30 s).")
    long timeoutSeconds;

    @Option(
        names = "--kms",
        paramLabel = "HOST:PORT",
        description =
            "A KMS node whose audit log GET /audit/events relays to the page's auditor tab (its RA-TLS "
                + "certificate verified with --root-ca and the collateral, as teekms audit does).")
    String kms;

    @Mixin QuoteVerificationOptions options;

    @Mixin GpuVerifierOptions gpu;

    @Override
    public Integer call() throws Exception {
      if (pccsUrl != null) {
        if (options.pccs != null || options.collateral != null) {
          throw new ParameterException(
              spec.commandLine(), "give one of --pccs-url, --pccs or --collateral");
        }
        options.pccs = pccsUrl;
      }
      options.requireOneCollateralSource();
      Optional<PolicyReaderConfig> chain = Optional.empty();
      if (rpcUrl != null || registry != null || chainId != null) {
        if (rpcUrl == null || registry == null || chainId == null) {
          throw new ParameterException(
              spec.commandLine(), "a chain needs --rpc-url, --chain-id and --registry");
        }
        try {
          chain =
              Optional.of(
                  PolicyReaderConfig.defaults(rpcUrl, chainId, registry)
                      .withConfirmations(confirmations, false)
                      .withCache(Duration.ZERO, 0));
        } catch (IllegalArgumentException e) {
          throw new ParameterException(spec.commandLine(), e.getMessage());
        }
      }
      if (options.at != null) {
        throw new ParameterException(
            spec.commandLine(), "--at does not apply to a service (it verifies now)");
      }
      Optional<KmsAuditor.Address> kmsAddress = Optional.empty();
      if (kms != null) {
        try {
          kmsAddress = Optional.of(KmsAuditor.Address.parse(kms));
        } catch (IllegalArgumentException e) {
          throw new ParameterException(spec.commandLine(), e.getMessage());
        }
      }
      CollateralSource collateral = options.source();
      if (pccsUrl != null || options.pccs != null) {
        collateral = new CachingCollateralSource(collateral, Clock.systemUTC());
      }
      VerifierService.Config config;
      try {
        config =
            new VerifierService.Config(
                host,
                port,
                options.verifier(),
                collateral,
                gpu.verifier(spec, options),
                chain,
                maxBody,
                Duration.ofSeconds(timeoutSeconds),
                Clock.systemUTC(),
                kmsAddress);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage());
      }
      CountDownLatch stop = new CountDownLatch(1);
      try (VerifierService service = VerifierService.start(config)) {
        Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
        spec.commandLine()
            .getOut()
            .println("{\"listening\": \"http://" + host + ":" + service.port() + "/\"}");
        spec.commandLine().getOut().flush();
        stop.await();
      }
      return 0;
    }
  }
}
