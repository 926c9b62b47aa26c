package org.teekms.kms.roots;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What the registry says about this KMS's root generations ({@code KmsRegistry.rootGenerations()}
 * at a pinned block, read through the RPC quorum): the anchor the database (which the host can
 * write, or restore from an old backup) is checked against before a root is unsealed or a key
 * released. Only the registry owner (a key or multisig, not the KMS) moves it: publishing
 * generation g makes g current and retires the previous one; a retired generation may then be
 * marked destroyed.
 *
 * @param current the chain's current generation; 0 before the first publication
 * @param states the chain's state of generation {@code i + 1} at index {@code i}
 */
public record ChainRootAnchor(int current, List<State> states) {

  /** KmsRegistry.RootGenerationState. */
  public enum State {
    NONE,
    CURRENT,
    RETIRED,
    DESTROYED
  }

  public ChainRootAnchor {
    states = List.copyOf(states);
    if (current < 0 || current > states.size())
      throw new IllegalArgumentException("current " + current + " unknown");
  }

  /** The chain's state of a generation; NONE when not (yet) published. */
  public State state(int generation) {
    return generation >= 1 && generation <= states.size() ? states.get(generation - 1) : State.NONE;
  }

  /**
   * Why root generation {@code generation} may not be unsealed or used, or empty when it may: it is
   * CURRENT or RETIRED on chain, or newer than the chain's current generation (promoted by a
   * rotation, not yet published).
   */
  public Optional<String> refusal(int generation) {
    State s = state(generation);
    if (s == State.CURRENT || s == State.RETIRED) return Optional.empty();
    if (s == State.NONE && generation > current) return Optional.empty();
    return Optional.of(
        "root generation "
            + generation
            + " is "
            + s
            + " on chain (current there: "
            + current
            + "), but the database still holds it: the database was restored from a backup taken before its destruction; "
            + "refused");
  }

  /**
   * Checks the database's generations, in order (the first failure is the reason): the database's
   * CURRENT generation must not be older than the chain's (else the database was restored from
   * before a rotation, and new key versions would come from a retired generation).
   *
   * @throws RootAnchorViolation saying what contradicts the chain
   */
  public void checkDatabase(List<RootGeneration> database) {
    Objects.requireNonNull(database, "database");
    Optional<RootGeneration> dbCurrent =
        database.stream().filter(g -> g.state() == RootState.CURRENT).findFirst();
    int have = dbCurrent.map(RootGeneration::generation).orElse(0);
    if (have < current) {
      throw new RootAnchorViolation(
          "the database's current root generation is "
              + (have == 0 ? "none" : have)
              + " but the chain's is "
              + current
              + ": the database was restored from a backup older than the rotation to "
              + "generation "
              + current
              + " (or rolled back); refused");
    }
    if (have > 0)
      refusal(have)
          .ifPresent(
              why -> {
                throw new RootAnchorViolation(why);
              });
  }

  /** The chain's anchor, as the reason strings show it. */
  @Override
  public String toString() {
    return "chain root anchor (current " + current + ", states " + states + ")";
  }
}
