package org.teekms.kms.roots;

/**
 * Lifecycle of a root generation: STAGED (made by a root rotation, not yet used) → CURRENT (new key
 * versions are derived from it) → RETIRED (derives only the versions pinned to it, until its grace
 * period ends) → DESTROYED (sealed secret erased: every version pinned to it is gone for good).
 */
public enum RootState {
  STAGED,
  CURRENT,
  RETIRED,
  DESTROYED
}
