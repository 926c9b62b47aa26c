package org.teekms.governance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.teekms.governance.testing.AnvilNode;
import org.web3j.crypto.Credentials;

/**
 * A transaction that takes longer than a second to be mined is reported while it waits (the command
 * line prints it on stderr); one mined at once says nothing.
 */
@Timeout(120)
class TransactionProgressTest {

  @Test
  void aSlowlyMinedTransactionReportsProgressAFastOneDoesNot() throws Exception {
    // No automine: blocks only when we ask for them.
    try (AnvilNode anvil = AnvilNode.start(List.of("--no-mining"));
        ChainClient chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID)) {
      Credentials from = anvil.fundedAccount();
      List<String> lines = new CopyOnWriteArrayList<>();
      chain.progress(lines::add);
      ScheduledExecutorService miner = Executors.newSingleThreadScheduledExecutor();
      try {
        miner.schedule(() -> anvil.mine(1), 2500, TimeUnit.MILLISECONDS);
        TxResult tx = chain.send(from, AnvilNode.unfundedAccount().getAddress(), "0x");
        assertTrue(lines.size() >= 1, "no progress while waiting 2.5 s: " + lines);
        assertTrue(
            lines
                .get(0)
                .startsWith("transaction " + tx.txHash() + " sent, waiting for it to be mined"),
            lines.toString());
      } finally {
        miner.shutdownNow();
      }
    }
  }

  @Test
  void aTransactionMinedAtOnceIsSilent() throws Exception {
    try (AnvilNode anvil = AnvilNode.start();
        ChainClient chain = ChainClient.connect(anvil.rpcUrl(), AnvilNode.CHAIN_ID)) {
      List<String> lines = new CopyOnWriteArrayList<>();
      chain.progress(lines::add);
      chain.send(anvil.fundedAccount(), AnvilNode.unfundedAccount().getAddress(), "0x");
      assertEquals(List.of(), lines);
    }
  }
}
