package org.teekms.governance.testing;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.Keys;
import org.web3j.protocol.core.Request;
import org.web3j.protocol.core.Response;
import org.web3j.protocol.http.HttpService;
import org.web3j.utils.Numeric;

/**
 * A real local EVM node for tests: the pinned {@code anvil} binary from node_modules, on a free
 * loopback port (127.0.0.1 only), stopped by {@link #close()}, by a shutdown hook, and by a
 * watchdog if the JVM is killed. Start one per test class; isolate tests with {@link #snapshot()} /
 * {@link #revert(String)}.
 */
public final class AnvilNode implements AutoCloseable {
  public static final long CHAIN_ID = 31337;
  private static final String RELATIVE_BINARY =
      "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(20);

  /**
   * Runs anvil ($2…) and stops it when this JVM ($1) is gone, even after a SIGKILL (a shutdown hook
   * would not run), or when the wrapper is terminated by {@link #close()}.
   */
  private static final String WATCHDOG =
      "jvm=$1; shift; \"$@\" & a=$!; "
          + "trap 'kill $a 2>/dev/null; wait $a; exit 0' TERM INT; "
          + "while kill -0 $jvm 2>/dev/null && kill -0 $a 2>/dev/null; do sleep 0.2; done; "
          + "kill $a 2>/dev/null; wait $a";

  private final Process process;
  private final int port;
  private final HttpService rpc;
  private final Thread shutdownHook;

  private AnvilNode(Process process, int port) {
    this.process = process;
    this.port = port;
    this.rpc = new HttpService(rpcUrl());
    this.shutdownHook = new Thread(process::destroyForcibly, "anvil-stop");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /**
   * Starts anvil with chain id {@link #CHAIN_ID}; fails (never skips) when the binary is missing.
   */
  public static AnvilNode start() throws IOException, InterruptedException {
    return start(List.of());
  }

  public static AnvilNode start(List<String> extraArgs) throws IOException, InterruptedException {
    Path binary = binary();
    IOException last = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      int port = freePort();
      Path log = Files.createTempFile("anvil-" + port + "-", ".log");
      List<String> cmd =
          new ArrayList<>(
              List.of(
                  "sh",
                  "-c",
                  WATCHDOG,
                  "anvil-watchdog",
                  Long.toString(ProcessHandle.current().pid()),
                  binary.toString(),
                  "--host",
                  "127.0.0.1",
                  "--port",
                  Integer.toString(port),
                  "--chain-id",
                  Long.toString(CHAIN_ID),
                  "--accounts",
                  "3"));
      cmd.addAll(extraArgs);
      Process p =
          new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      AnvilNode node = new AnvilNode(p, port);
      if (node.awaitReady()) return node;
      node.close();
      last = new IOException("anvil did not start on port " + port + ": " + Files.readString(log));
    }
    throw last;
  }

  /**
   * The anvil binary: -Dteekms-anvil, else node_modules of this or the governance-contracts module.
   */
  public static Path binary() {
    String configured = System.getProperty("teekms-anvil");
    List<Path> candidates = new ArrayList<>();
    if (configured != null) candidates.add(Path.of(configured));
    candidates.add(Path.of(RELATIVE_BINARY));
    candidates.add(Path.of("..", "governance-contracts", RELATIVE_BINARY));
    candidates.add(Path.of("governance-contracts", RELATIVE_BINARY));
    for (Path p : candidates) {
      if (Files.isExecutable(p)) return p.toAbsolutePath();
    }
    throw new IllegalStateException(
        "anvil not found (looked at "
            + candidates
            + "); run the governance-contracts build, which runs npm ci");
  }

  private boolean awaitReady() throws InterruptedException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) return false;
      try {
        if (!call("eth_chainId").hasError()) return true;
      } catch (IOException e) {
        // not listening yet
      }
      Thread.sleep(50);
    }
    return false;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  public String rpcUrl() {
    return "http://127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /** A JSON-RPC call with raw params; anvil_* and evm_* methods included. */
  public RawResponse call(String method, Object... params) throws IOException {
    return new Request<>(method, List.of(params), rpc, RawResponse.class).send();
  }

  private Object result(String method, Object... params) {
    try {
      RawResponse r = call(method, params);
      if (r.hasError()) throw new IllegalStateException(method + ": " + r.getError().getMessage());
      return r.getResult();
    } catch (IOException e) {
      throw new IllegalStateException(method + ": " + e.getMessage(), e);
    }
  }

  /** evm_snapshot: an id to {@link #revert(String)} to. */
  public String snapshot() {
    return (String) result("evm_snapshot");
  }

  public void revert(String snapshotId) {
    if (!Boolean.TRUE.equals(result("evm_revert", snapshotId))) {
      throw new IllegalStateException("evm_revert " + snapshotId + " failed");
    }
  }

  /** Mines {@code blocks} empty blocks. */
  public void mine(int blocks) {
    result("anvil_mine", Numeric.toHexStringWithPrefix(BigInteger.valueOf(blocks)));
  }

  /** Advances the clock of the next block. */
  public void increaseTime(long seconds) {
    result("evm_increaseTime", Numeric.toHexStringWithPrefix(BigInteger.valueOf(seconds)));
  }

  public void setBalance(String address, BigInteger wei) {
    result("anvil_setBalance", address, Numeric.toHexStringWithPrefix(wei));
  }

  /** A fresh account funded with 100 ETH. */
  public Credentials fundedAccount() {
    try {
      Credentials c = Credentials.create(Keys.createEcKeyPair());
      setBalance(c.getAddress(), BigInteger.TEN.pow(20));
      return c;
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A fresh account with no funds. */
  public static Credentials unfundedAccount() {
    try {
      return Credentials.create(Keys.createEcKeyPair());
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  public boolean isRunning() {
    return process.isAlive();
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // already shutting down
    }
    try {
      rpc.close();
    } catch (IOException e) {
      // nothing left to release
    }
  }

  /** A JSON-RPC answer whose result is left as parsed JSON. */
  public static final class RawResponse extends Response<Object> {}
}
