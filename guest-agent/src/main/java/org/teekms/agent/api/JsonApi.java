package org.teekms.agent.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A JSON-in, JSON-out API served over HTTP by {@link GuestApiServer}: {@code POST /<method>} with a
 * JSON body.
 */
@FunctionalInterface
public interface JsonApi {
  ObjectNode handle(String method, JsonNode body) throws ApiException;
}
