package org.teekms.agent;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.teekms.agent.boot.Backoff;
import org.teekms.agent.boot.BootFailure;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code teekms-agent}: {@code run} (boot, then serve), {@code disk open|format} (through the admin
 * socket).
 */
@Command(
    name = "teekms-agent",
    mixinStandardHelpOptions = true,
    version = "teekms-agent 0.1.0",
    subcommands = {AgentMain.Run.class, AgentMain.Disk.class},
    description = "The tee-kms guest agent (runs inside the CVM).")
public final class AgentMain {
  public static void main(String[] args) {
    System.exit(new CommandLine(new AgentMain()).execute(args));
  }

  /**
   * Boots (RTMR3, RA-TLS, GetAppKeys) and serves the key API, the admin socket and, if enabled, the
   * proxy.
   */
  @Command(name = "run", description = "Boot against the KMS and serve until stopped.")
  static final class Run implements Callable<Integer> {
    @Option(names = "--config", defaultValue = "/etc/teekms/agent.properties")
    Path config;

    @Override
    public Integer call() throws Exception {
      AgentRuntime runtime;
      try {
        runtime = AgentRuntime.start(AgentConfig.load(config), Backoff.Sleeper.REAL);
      } catch (BootFailure e) {
        System.err.println("teekms-agent: boot failed: " + e.getMessage());
        return 3;
      }
      CountDownLatch stop = new CountDownLatch(1);
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    runtime.close();
                    stop.countDown();
                  }));
      stop.await();
      return 0;
    }
  }

  /** Opens or formats the data disk through the running agent's admin socket (root only). */
  @Command(name = "disk", description = "Open or format the LUKS2 data disk with the KMS disk key.")
  static final class Disk implements Callable<Integer> {
    @CommandLine.Parameters(index = "0", description = "open | format")
    String action;

    @Option(names = "--device", required = true)
    String device;

    @Option(names = "--name", defaultValue = "teekms-data")
    String name;

    @Option(names = "--force", description = "format even if the device holds a LUKS header")
    boolean force;

    @Option(names = "--admin-socket", defaultValue = "/run/teekms-agent/admin.sock")
    Path socket;

    @Override
    public Integer call() throws Exception {
      String method =
          switch (action) {
            case "open" -> "/DiskOpen";
            case "format" -> "/DiskFormat";
            default ->
                throw new CommandLine.ParameterException(
                    new CommandLine(this), "action must be open or format");
          };
      var body = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
      body.put("device", device);
      body.put("name", name);
      body.put("force", force);
      UnixHttpClient.Response r = UnixHttpClient.post(socket, method, body.toString());
      System.out.println(r.body());
      return r.status() == 200 ? 0 : 1;
    }
  }
}
