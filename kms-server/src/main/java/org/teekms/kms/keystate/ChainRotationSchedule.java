package org.teekms.kms.keystate;

import java.math.BigInteger;
import org.teekms.governance.AppKeyVersions;
import org.teekms.governance.AppPolicy;
import org.teekms.governance.ChainClient;
import org.teekms.governance.GovernanceException;
import org.teekms.keys.AppId;
import org.web3j.protocol.core.DefaultBlockParameter;
import org.web3j.protocol.core.methods.response.EthBlock;

/**
 * {@code keyState()} and {@code rotationDue()} of an app's AppPolicy by eth_call at head −
 * confirmations, both named by the same block hash (EIP-1898), after checking the chain id. A fresh
 * read per call.
 */
public final class ChainRotationSchedule implements RotationScheduleReader {

  private final ChainClient chain;
  private final int confirmations;

  public ChainRotationSchedule(ChainClient chain, int confirmations) {
    this.chain = chain;
    this.confirmations = confirmations;
  }

  @Override
  public RotationSchedule read(AppId appId) {
    if (appId == null) {
      return RotationSchedule.failed("no app id");
    }
    String app = appId.toString();
    try {
      chain.checkChainId();
      long head = chain.blockNumber();
      long number = Math.max(0, head - confirmations);
      EthBlock.Block block =
          chain
              .block(DefaultBlockParameter.valueOf(BigInteger.valueOf(number)))
              .orElseThrow(
                  () ->
                      new IllegalStateException(
                          "the node reports head " + head + " but has no block " + number));
      String hash = block.getHash();
      AppPolicy policy = AppPolicy.at(chain, app, null).atBlockHash(hash);
      AppKeyVersions state = policy.keyVersions();
      boolean due = policy.rotationDue();
      return new RotationSchedule(
          due,
          state.rotationPeriodSeconds(),
          state.lastRotationEpochSeconds(),
          chain.chainId(),
          number,
          hash,
          null);
    } catch (GovernanceException | RuntimeException e) {
      return RotationSchedule.failed(
          "reading the rotation schedule of app " + app + " failed: " + e.getMessage());
    }
  }
}
