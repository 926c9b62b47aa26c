package org.teekms.cli.demo;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code teekms demo}: the whole confidential-inference key flow on this machine, on loopback only,
 * with the TDX platform simulated (explicitly) and everything else real: a local chain with the
 * governance contracts, the KMS with embedded PostgreSQL, a CVM running the guest agent and the
 * signing proxy in front of a fake model, offline verification, key rotation and a denied boot.
 * Exit 0 only if every step passed.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description =
        "Run the end-to-end demo locally (simulated TDX, local chain, real KMS and guest agent).")
public final class DemoCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--home",
      description = "the tee-kms checkout (default: -Dteekms.home, else the current directory)")
  Path home;

  @Option(
      names = "--work-dir",
      description =
          "where logs, the KMS data and the verified files go "
              + "(default: a new directory under the system temp dir)")
  Path workDir;

  @Option(
      names = "--kms-jar",
      description = "the KMS (default: HOME/kms-server/target/quarkus-app/quarkus-run.jar)")
  Path kmsJar;

  @Option(
      names = "--anvil",
      description =
          "the anvil binary (default: HOME/governance-contracts/node_modules/"
              + "@foundry-rs/anvil-linux-amd64/bin/anvil, installed by the governance-contracts build)")
  Path anvil;

  @Option(
      names = "--keep",
      description =
          "after the steps, keep the chain, the KMS and a CVM (agent, signing proxy) "
              + "running, print how to reach them, and wait until stopped (Ctrl-C)")
  boolean keep;

  @Option(
      names = "--custody",
      description =
          "also show root custody: the KMS backs its root up 2-of-3 to custodians "
              + "registered on chain; after the regular steps every KMS node is destroyed, a fresh node recovers the root from "
              + "two custodians, and the app's CVM gets the same keys")
  boolean custody;

  @Override
  public Integer call() throws Exception {
    Path root = home != null ? home : Path.of(System.getProperty("teekms.home", "."));
    root = root.toAbsolutePath().normalize();
    DemoRun.Settings settings =
        new DemoRun.Settings(
            workDir != null ? workDir : java.nio.file.Files.createTempDirectory("teekms-demo-"),
            kmsJar != null ? kmsJar : root.resolve("kms-server/target/quarkus-app/quarkus-run.jar"),
            anvil != null
                ? anvil
                : root.resolve(
                    "governance-contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"),
            keep,
            custody);
    PrintWriter out = spec.commandLine().getOut();
    return new DemoRun(settings, out).run();
  }
}
