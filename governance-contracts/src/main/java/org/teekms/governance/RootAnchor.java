package org.teekms.governance;

import java.math.BigInteger;
import java.util.List;

/**
 * The registry's anti-rollback anchor of the KMS root generations ({@code
 * KmsRegistry.rootGenerations()}), read at one block: which generation is current and the state of
 * every published generation. The KMS's database (which the host can write or restore from a
 * backup) must agree with it before a root is unsealed or a key released.
 *
 * @param current the generation new key versions must come from; 0 = none published yet
 * @param states state of generation {@code i + 1} at index {@code i}, for every published
 *     generation
 */
public record RootAnchor(int current, List<State> states) {

  /** KmsRegistry.RootGenerationState, in the contract's order. */
  public enum State {
    NONE,
    CURRENT,
    RETIRED,
    DESTROYED
  }

  public RootAnchor {
    states = List.copyOf(states);
    if (current < 0 || current > states.size()) {
      throw new IllegalArgumentException(
          "current generation "
              + current
              + " is not among the "
              + states.size()
              + " published ones");
    }
    if (current > 0 && states.get(current - 1) != State.CURRENT) {
      throw new IllegalArgumentException(
          "generation " + current + " is current but its state is " + states.get(current - 1));
    }
  }

  /** The chain's state of {@code generation}: NONE when it was never published. */
  public State state(int generation) {
    return generation >= 1 && generation <= states.size() ? states.get(generation - 1) : State.NONE;
  }

  /**
   * From {@code rootGenerations()}'s (uint32 current, uint8[] states); throws
   * IllegalArgumentException for an unknown state or an inconsistent answer.
   */
  static RootAnchor of(BigInteger current, List<BigInteger> raw) {
    if (raw.size() > 1_000_000)
      throw new IllegalArgumentException("too many root generations: " + raw.size());
    return new RootAnchor(current.intValueExact(), raw.stream().map(RootAnchor::state).toList());
  }

  /**
   * KmsRegistry.RootGenerationState from its uint8 value; IllegalArgumentException when unknown.
   */
  static State state(BigInteger value) {
    if (value.signum() < 0 || value.compareTo(BigInteger.valueOf(State.values().length)) >= 0) {
      throw new IllegalArgumentException("unknown generation state " + value);
    }
    return State.values()[value.intValueExact()];
  }
}
