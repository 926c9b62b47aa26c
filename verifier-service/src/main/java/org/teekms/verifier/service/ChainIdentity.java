package org.teekms.verifier.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.teekms.attest.tdx.QuotePolicy;
import org.teekms.attest.tdx.TcbStatus;
import org.teekms.crypto.Bytes;
import org.teekms.governance.ChainPolicyReader;
import org.teekms.governance.DriverVersion;
import org.teekms.governance.OnChainAppPolicy;
import org.teekms.governance.PolicyEvent;
import org.teekms.verifier.ExpectedIdentity;
import org.teekms.verifier.GpuRequirement;
import org.web3j.utils.Numeric;

/**
 * The expected identity of an app's CVMs, read from its on-chain policy at one pinned block ({@link
 * ChainPolicyReader#appPolicy}): the app itself (registered, enabled), its allowed compose hashes,
 * the registry's OS images with their golden mrSystem values, the TCB statuses and advisories the
 * registry accepts (only UpToDate when the app requires it), and the effective GPU policy (a count
 * above zero requires GPU evidence with RIMs compared). A policy that could not be read gives an
 * identity that fails every check needing it.
 */
public final class ChainIdentity {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ChainIdentity() {}

  public static ExpectedIdentity of(OnChainAppPolicy p) {
    if (p.failure().isPresent()) {
      return ExpectedIdentity.unavailable(
          p.source(), true, "the on-chain policy could not be read: " + p.failure().get());
    }
    Set<Bytes> compose = new LinkedHashSet<>();
    p.composeHashes().forEach(h -> compose.add(Bytes.fromHex(h.substring(2))));
    Map<Bytes, Set<Bytes>> images = new LinkedHashMap<>();
    p.osImages()
        .forEach(
            (image, golden) -> {
              Set<Bytes> g = new LinkedHashSet<>();
              golden.forEach(m -> g.add(Bytes.fromHex(m.substring(2))));
              images.put(Bytes.fromHex(image.substring(2)), g);
            });
    QuotePolicy.Builder tcb = QuotePolicy.builder();
    if (!p.requireTcbUpToDate()) {
      for (String s : p.tcbStatuses()) {
        try {
          tcb.allowStatuses(TcbStatus.valueOf(s));
        } catch (IllegalArgumentException e) {
          // A status this verifier does not know is accepted for nothing (fail closed).
        }
      }
    }
    tcb.allowAdvisories(p.advisoryIds().toArray(String[]::new));
    var gpu = p.gpuPolicy();
    GpuRequirement req =
        GpuRequirement.atLeast(
            gpu.count(),
            gpu.arch(),
            gpu.minDriverVersion() == 0
                ? Optional.empty()
                : Optional.of(DriverVersion.format(gpu.minDriverVersion())));
    return new ExpectedIdentity(
        p.source(),
        true,
        Optional.of(Bytes.fromHex(p.app().substring(2))),
        p.appRefusal(),
        compose,
        images,
        tcb.build(),
        req,
        Optional.empty());
  }

  /**
   * The history as JSON ({@code GET /policy/{app}}'s {@code "history"}): the events oldest first,
   * each with its block, transaction, log index, contract, event name and arguments by name (bytes
   * as 0x hex, integers as numbers).
   */
  public static ObjectNode historyJson(ChainPolicyReader.AppHistory h) {
    ObjectNode o = JSON.createObjectNode();
    o.put("blockNumber", h.blockNumber());
    o.put("blockHash", h.blockHash());
    o.put("readable", h.failure().isEmpty());
    o.put("error", h.failure().orElse(null));
    ArrayNode events = o.putArray("events");
    for (PolicyEvent e : h.events()) {
      ObjectNode j = events.addObject();
      j.put("blockNumber", e.blockNumber());
      j.put("txHash", e.txHash());
      j.put("logIndex", e.logIndex());
      j.put("contract", e.contract());
      j.put("event", e.event());
      ObjectNode args = j.putObject("args");
      e.args().forEach((k, v) -> args.set(k, value(v)));
    }
    return o;
  }

  private static JsonNode value(Object v) {
    if (v instanceof byte[] b) return JSON.getNodeFactory().textNode(Numeric.toHexString(b));
    if (v instanceof BigInteger i) return JSON.getNodeFactory().numberNode(i);
    if (v instanceof Boolean b) return JSON.getNodeFactory().booleanNode(b);
    if (v instanceof List<?> l) {
      ArrayNode a = JSON.createArrayNode();
      l.forEach(x -> a.add(value(x)));
      return a;
    }
    return v == null
        ? JSON.getNodeFactory().nullNode()
        : JSON.getNodeFactory().textNode(String.valueOf(v));
  }

  /** The policy as JSON ({@code GET /policy/{app}}, the page's policy panel). */
  public static ObjectNode toJson(OnChainAppPolicy p) {
    ObjectNode o = JSON.createObjectNode();
    o.put("app", p.app());
    o.put("chainId", p.chainId());
    o.put("registry", p.registry());
    o.put("blockNumber", p.blockNumber());
    o.put("blockHash", p.blockHash());
    o.put("readable", p.failure().isEmpty());
    o.put("error", p.failure().orElse(null));
    if (p.failure().isPresent()) {
      return o;
    }
    o.put("status", p.status().name());
    o.put("disabled", p.disabled());
    o.put("allowed", p.appRefusal().isEmpty());
    o.put("refusal", p.appRefusal().orElse(null));
    o.putPOJO("composeHashes", p.composeHashes());
    ObjectNode images = o.putObject("osImages");
    p.osImages().forEach((k, v) -> images.putPOJO(k, v));
    ObjectNode tcb = o.putObject("tcb");
    tcb.putPOJO("statuses", p.requireTcbUpToDate() ? List.of("UpToDate") : p.tcbStatuses());
    tcb.putPOJO("advisoryIds", p.advisoryIds());
    tcb.put("requireUpToDate", p.requireTcbUpToDate());
    ObjectNode gpu = o.putObject("gpuPolicy");
    gpu.put("count", p.gpuPolicy().count());
    gpu.put("arch", p.gpuPolicy().arch());
    gpu.put("minDriverVersion", DriverVersion.format(p.gpuPolicy().minDriverVersion()));
    if (p.keys() != null) {
      ObjectNode k = o.putObject("rotation");
      k.put("currentKeyVersion", p.keys().current());
      k.put("minKeyVersion", p.keys().minimum());
      k.put("rotationPeriodSeconds", p.keys().rotationPeriodSeconds());
      k.put("lastRotation", p.keys().lastRotationEpochSeconds());
      k.put("rotationDue", p.rotationDue());
    }
    return o;
  }
}
