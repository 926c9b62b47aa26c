package org.teekms.agent.api;

/**
 * A request the key API refuses, with the HTTP status to answer and a message for the {@code error}
 * field.
 */
public final class ApiException extends Exception {
  private static final long serialVersionUID = 1L;
  private final int status;

  public ApiException(int status, String message) {
    super(message);
    this.status = status;
  }

  public int status() {
    return status;
  }
}
