package org.teekms.kms.onboarding;

import org.teekms.governance.PublishedRootKeys;

/**
 * The root public keys the registry publishes per root generation ({@code
 * KmsRegistry.kmsIdentity(generation)} at a pinned block): what a joining node compares the
 * received root secrets with. Never throws; never "published" on doubt.
 */
@FunctionalInterface
public interface PublishedRootsPort {
  PublishedRootKeys rootPublicKeys(int generation);
}
