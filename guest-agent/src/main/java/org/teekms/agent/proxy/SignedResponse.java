package org.teekms.agent.proxy;

/** What {@code /v1/signature/{chat_id}} serves: the signed text, its signature, the signer and the algorithm name. */
public record SignedResponse(String text, String signature, String signingAddress, String signingAlgo) {}
