// tee-kms verifier page: collects the exchange, asks this service for the verdict (POST /verify/response) and renders
// every check as a row; shows the app's on-chain policy and its history (GET /policy/{app}). No framework, no inline
// script (CSP).
"use strict";

const $ = (id) => document.getElementById(id);

function text(el, value) {
  el.textContent = value == null ? "" : String(value);
  return el;
}

/** The request body for POST /verify/response, from the form. */
function requestBody() {
  const body = {
    report: $("report").value,
    signature: $("signature").value,
    method: $("method").value || "POST",
    path: $("path").value || "/v1/chat/completions",
  };
  for (const f of ["request", "response"]) {
    const el = $(f);
    // a body loaded as base64 (not UTF-8) is sent as such, unless it was edited since
    if (el.value === "" && el.dataset.base64) body[f + "Base64"] = el.dataset.base64;
    else body[f] = el.value;
  }
  if ($("nonce").value.trim()) body.nonce = $("nonce").value.trim();
  const app = $("app").value.trim();
  if ($("composeHash").value.trim() || $("osImage").value.trim()) {
    body.expected = {
      composeHash: $("composeHash").value.trim(),
      osImage: $("osImage").value.trim(),
      mrSystems: $("mrSystems").value.split(/\s+/).filter((s) => s.length > 0),
      requireGpu: $("requireGpu").checked,
    };
    if (app) body.expected.app = app;
  } else if (app) {
    body.app = app;
  }
  return body;
}

function renderVerdict(v) {
  const verdict = $("verdict");
  verdict.className = v.valid ? "valid" : "invalid";
  text(verdict, v.valid ? "VALID" : "NOT VALID: " + v.failure + " at " + v.failedCheck);
  text($("expected"), v.expected ? "expected identity: " + v.expected : "");
  const tbody = $("checks").querySelector("tbody");
  tbody.replaceChildren();
  for (const c of v.checks || []) {
    const tr = document.createElement("tr");
    tr.className = c.status;
    tr.dataset.check = c.name;
    tr.dataset.status = c.status;
    tr.appendChild(text(document.createElement("td"), c.name)).className = "name";
    tr.appendChild(text(document.createElement("td"), c.status)).className = "status";
    tr.appendChild(text(document.createElement("td"), c.code || "")).className = "code";
    tr.appendChild(text(document.createElement("td"), c.detail)).className = "detail";
    tbody.appendChild(tr);
  }
  $("checks").hidden = false;
}

function renderError(message) {
  $("verdict").className = "invalid";
  text($("verdict"), "cannot verify: " + message);
  $("checks").hidden = true;
}

async function verify(event) {
  event.preventDefault();
  text($("verdict"), "verifying…");
  try {
    const r = await fetch("verify/response", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(requestBody()),
    });
    const v = await r.json();
    if (r.status !== 200) renderError(v.error || "HTTP " + r.status);
    else renderVerdict(v);
  } catch (e) {
    renderError(String(e));
  }
  const app = $("app").value.trim();
  if (app) showPolicy(app);
}

/**
 * Fills the form from a signed-exchange.json (tee-kms/signed-exchange/v1, docs/verifiable-inference.md §4.3): the
 * exact bodies, the signature and report as served, the endpoint, the nonce and the expected identity (the app's
 * on-chain policy when it names an app, else the explicit identity it states).
 */
function loadExchange(name, textContent) {
  const status = $("exchange-status");
  let x;
  try {
    x = JSON.parse(textContent);
  } catch (e) {
    text(status, "cannot load " + name + ": not JSON (" + e.message + ")");
    return;
  }
  if (x === null || typeof x !== "object" || x.format !== "tee-kms/signed-exchange/v1") {
    text(status, "cannot load " + name + ": its format is not tee-kms/signed-exchange/v1");
    return;
  }
  for (const f of ["request", "response"]) {
    const el = $(f);
    delete el.dataset.base64;
    if (typeof x[f] === "string") el.value = x[f];
    else if (typeof x[f + "Base64"] === "string") {
      el.value = "";
      el.dataset.base64 = x[f + "Base64"];
      el.placeholder = "(not UTF-8: loaded from " + name + ", sent as base64)";
    } else el.value = "";
  }
  for (const f of ["signature", "report"]) {
    $(f).value = x[f] == null ? "" : typeof x[f] === "string" ? x[f] : JSON.stringify(x[f], null, 1);
  }
  $("method").value = x.method || "POST";
  $("path").value = x.path || "/v1/chat/completions";
  $("nonce").value = x.nonce || "";
  const e = x.explicit || {};
  $("app").value = x.app || "";
  $("composeHash").value = x.app ? "" : e.composeHash || "";
  $("osImage").value = x.app ? "" : e.osImage || "";
  $("mrSystems").value = x.app ? "" : (e.mrSystems || []).join("\n");
  $("requireGpu").checked = !x.app && e.requireGpu === true;
  text(status, "loaded " + name + (x.simulated ? " (SIMULATED platform: this verifier must trust its roots)" : "")
      + (x.app ? "; expected identity: app " + x.app + "'s on-chain policy" : "; expected identity: explicit"));
}

function row(table, key, value) {
  const tr = document.createElement("tr");
  tr.appendChild(text(document.createElement("th"), key));
  const td = document.createElement("td");
  if (typeof value === "object" && value !== null) {
    td.appendChild(text(document.createElement("pre"), JSON.stringify(value, null, 2)));
  } else {
    text(td, value);
  }
  tr.appendChild(td);
  table.appendChild(tr);
}

async function showPolicy(app) {
  const box = $("policy");
  try {
    const r = await fetch("policy/" + encodeURIComponent(app));
    const p = await r.json();
    box.replaceChildren();
    if (!p.readable) {
      box.appendChild(text(document.createElement("p"), "policy unavailable: " + (p.error || "HTTP " + r.status)));
      return;
    }
    const table = document.createElement("table");
    table.id = "policy-table";
    row(table, "read at", "chain " + p.chainId + ", block " + p.blockNumber + " (" + p.blockHash + ")");
    row(table, "registry", p.registry);
    row(table, "status", p.status + (p.disabled ? " (disabled)" : ""));
    row(table, "compose hashes", p.composeHashes);
    row(table, "OS images (golden mrSystem)", p.osImages);
    row(table, "TCB", p.tcb);
    row(table, "GPU policy", p.gpuPolicy);
    row(table, "key rotation", p.rotation);
    box.appendChild(table);
    box.appendChild(historyTable(p.history));
  } catch (e) {
    text(box, "policy unavailable: " + e);
  }
}

/** The events behind the policy, oldest first: one row per event (block, contract, event, its arguments). */
function historyTable(h) {
  const wrap = document.createElement("div");
  wrap.id = "history";
  wrap.appendChild(text(document.createElement("h3"), "History up to block " + (h ? h.blockNumber : "?")));
  if (!h || !h.readable) {
    wrap.appendChild(text(document.createElement("p"), "history unavailable: " + (h ? h.error : "not served")));
    return wrap;
  }
  const table = document.createElement("table");
  table.id = "history-table";
  const head = document.createElement("tr");
  for (const t of ["block", "contract", "event", "arguments", "transaction"]) {
    head.appendChild(text(document.createElement("th"), t));
  }
  table.appendChild(head);
  for (const e of h.events) {
    const tr = document.createElement("tr");
    tr.dataset.event = e.event;
    tr.appendChild(text(document.createElement("td"), e.blockNumber));
    tr.appendChild(text(document.createElement("td"), e.contract));
    tr.appendChild(text(document.createElement("td"), e.event));
    tr.appendChild(text(document.createElement("td"),
        Object.entries(e.args).map(([k, v]) => k + " = " + JSON.stringify(v)).join(", ")));
    tr.appendChild(text(document.createElement("td"), e.txHash + " #" + e.logIndex));
    table.appendChild(tr);
  }
  wrap.appendChild(table);
  return wrap;
}

async function fetchFromProxy() {
  const base = $("proxyUrl").value.trim().replace(/\/+$/, "");
  const status = $("fetch-status");
  try {
    const nonce = $("nonce").value.trim();
    const sig = await fetch(base + "/v1/signature/" + encodeURIComponent($("chatId").value.trim()));
    $("signature").value = await sig.text();
    const rep = await fetch(base + "/v1/attestation/report" + (nonce ? "?nonce=" + encodeURIComponent(nonce) : ""));
    $("report").value = await rep.text();
    text(status, "fetched (HTTP " + sig.status + ", " + rep.status + ")");
  } catch (e) {
    text(status, "cannot fetch: " + e + " (the proxy must allow this page's origin)");
  }
}

// ---- Auditor: the audit chain recomputed here (docs/audit-log.md), the checks in AuditChainWalker's order ----

const AUDIT_DOMAIN = new TextEncoder().encode("tee-kms/audit/v1");

function hexBytes(h, what) {
  const s = String(h == null ? "" : h).replace(/^0x/i, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(s)) throw new Error(what + " is not hex");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}

function toHex(b) {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function lengthPrefixed(parts, bytes) {
  const l = new Uint8Array(4);
  new DataView(l.buffer).setUint32(0, bytes.length);
  parts.push(l, bytes);
}

/**
 * entry_hash = SHA-256(lp("tee-kms/audit/v1") ‖ u64(seq) ‖ uuid(event_id) ‖ i64(event_time) ‖ lp(kind) ‖ lp(app_id)
 *                      ‖ lp(outcome) ‖ lp(reason) ‖ lp(detail_json) ‖ prev_hash)
 */
async function auditEntryHash(e, prev) {
  const enc = new TextEncoder();
  const parts = [];
  lengthPrefixed(parts, AUDIT_DOMAIN);
  const fixed = new Uint8Array(32);
  const view = new DataView(fixed.buffer);
  view.setBigUint64(0, BigInt(e.seq));
  const uuid = String(e.eventId).replace(/-/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(uuid)) throw new Error("eventId is not a UUID");
  fixed.set(hexBytes(uuid, "eventId"), 8);
  view.setBigInt64(24, BigInt(e.millis));
  parts.push(fixed);
  lengthPrefixed(parts, enc.encode(e.kind));
  lengthPrefixed(parts, e.app);
  lengthPrefixed(parts, enc.encode(e.outcome));
  lengthPrefixed(parts, enc.encode(e.reason));
  lengthPrefixed(parts, enc.encode(e.detail));
  parts.push(prev);
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", all));
}

/** One served entry, its fields typed; throws with the field that is malformed. */
function auditEntry(j) {
  const millis = j.eventTimeMillis != null ? Number(j.eventTimeMillis) : Date.parse(j.time);
  if (!Number.isSafeInteger(millis)) throw new Error("no eventTimeMillis or ISO time");
  if (!Number.isSafeInteger(j.seq)) throw new Error("seq is not an integer");
  for (const f of ["kind", "outcome", "reason"]) {
    if (typeof j[f] !== "string") throw new Error(f + " is not a string");
  }
  const detail = j.detail != null ? j.detail : j.detailJson;
  if (typeof detail !== "string") throw new Error("detail is not the stored JSON text");
  return {
    seq: j.seq, eventId: j.eventId, millis, kind: j.kind, outcome: j.outcome, reason: j.reason, detail,
    app: hexBytes(j.appId, "appId"), appHex: String(j.appId || ""), time: j.time || new Date(millis).toISOString(),
    prev: j.prevHash == null || j.prevHash === "" ? null : hexBytes(j.prevHash, "prevHash"), hash: hexBytes(j.entryHash, "entryHash"),
  };
}

/**
 * Walks the chain from seq 1: well-formed, seq = previous + 1, prev_hash = the hash reached, the recomputed hash =
 * the stored one; then the saved head must have been passed. The first failure is the verdict.
 */
async function walkAuditChain(raw, savedHead, anchoredCount) {
  const list = Array.isArray(raw) ? raw : raw.events;
  if (!Array.isArray(list)) throw new Error("expected {\"events\": [...]} or an array of entries");
  let running = new Uint8Array(32);
  let headSeen = savedHead == null || /^0{64}$/.test(savedHead);
  const rows = [];
  for (let i = 0; i < list.length; i++) {
    const expected = i + 1;
    let e;
    try {
      e = auditEntry(list[i]);
      if (e.hash.length !== 32 || (e.prev != null && e.prev.length !== 32)
          || (e.app.length !== 0 && e.app.length !== 20)) {
        throw new Error("hash or app id length");
      }
    } catch (err) {
      return { ok: false, seq: expected, rows,
        reason: "malformed entry at position " + expected + " (" + err.message + ")" };
    }
    const row = { e, ok: true };
    rows.push(row);
    let reason = null;
    if (e.seq !== expected) {
      reason = "sequence gap: expected seq " + expected + ", found " + e.seq + " (entry deleted or moved?)";
    } else if (e.prev != null && toHex(e.prev) !== toHex(running)) {
      reason = "prev_hash does not match the previous entry's hash (entries reordered or replaced?)";
    } else {
      const h = await auditEntryHash(e, running);
      if (toHex(h) !== toHex(e.hash)) {
        reason = "the recomputed entry hash differs from the stored one (entry edited?)";
      } else {
        running = h;
        if (savedHead != null && toHex(h) === savedHead) headSeen = true;
      }
    }
    if (reason) {
      row.ok = false;
      return { ok: false, seq: expected, reason, rows };
    }
  }
  if (anchoredCount != null) {
    if (anchoredCount > list.length) {
      return { ok: false, seq: null, rows, reason: "the anchored head records " + anchoredCount + " entries, the log "
          + "has " + list.length + " (tail deleted, or not all entries pasted)" };
    }
    if (anchoredCount > 0 && toHex(rows[anchoredCount - 1].e.hash) !== savedHead) {
      rows[anchoredCount - 1].ok = false;
      return { ok: false, seq: anchoredCount, rows, reason: "entry " + anchoredCount + "'s hash is not the anchored "
          + "head " + savedHead + " (history rewritten)" };
    }
  } else if (!headSeen) {
    return { ok: false, seq: null, rows, reason: "the saved head " + savedHead + " is not on this chain (history "
        + "rewritten, or cut before it)" };
  }
  return { ok: true, count: list.length, head: toHex(running), rows };
}

async function verifyAudit() {
  const verdict = $("audit-verdict");
  const table = $("audit-table");
  text(verdict, "recomputing…");
  table.hidden = true;
  let r;
  try {
    if (!window.crypto || !crypto.subtle) throw new Error("this page needs a secure context (https or localhost)");
    const [headText, countText] = $("audit-head").value.trim().split("@");
    const head = headText.replace(/^0x/i, "").toLowerCase();
    if (head && !/^[0-9a-f]{64}$/.test(head)) throw new Error("the saved head must be 32 bytes of hex");
    if (countText != null && (!head || !/^[0-9]{1,15}$/.test(countText))) {
      throw new Error("an anchor is HASH@ENTRIES, the entry count a number");
    }
    r = await walkAuditChain(JSON.parse($("audit-entries").value), head || null,
        countText == null ? null : Number(countText));
  } catch (e) {
    verdict.className = "invalid";
    text(verdict, "cannot recompute: " + e.message);
    return;
  }
  verdict.className = r.ok ? "valid" : "invalid";
  text(verdict, r.ok ? "chain verifies: " + r.count + " entries recomputed in this page, head " + r.head
      : "chain broken" + (r.seq ? " at seq " + r.seq : "") + ": " + r.reason);
  const app = $("audit-app").value.trim().toLowerCase();
  const tbody = table.querySelector("tbody");
  tbody.replaceChildren();
  for (const { e, ok } of r.rows) {
    if (app && e.appHex.toLowerCase() !== app && ok) continue;
    const tr = document.createElement("tr");
    tr.dataset.seq = e.seq;
    tr.dataset.status = ok ? "PASS" : "FAIL";
    tr.className = ok ? "PASS" : "FAIL";
    for (const v of [e.seq, e.time, e.kind, e.appHex, e.outcome, e.reason, e.detail]) {
      tr.appendChild(text(document.createElement("td"), v));
    }
    tr.appendChild(text(document.createElement("td"), ok ? "PASS" : "FAIL")).className = "status";
    tbody.appendChild(tr);
  }
  table.hidden = false;
}

/**
 * Fetches every entry of the KMS's audit log through this service (GET /audit/events: the service verified the
 * KMS's RA-TLS certificate and relays the entries verbatim) into the text area. Nothing is trusted: the chain is
 * recomputed below, in this page.
 */
async function fetchAuditLog() {
  const status = $("audit-fetch-status");
  text(status, "fetching…");
  try {
    const r = await fetch("audit/events");
    const a = await r.json();
    if (r.status !== 200) throw new Error(a.error || "HTTP " + r.status);
    $("audit-entries").value = JSON.stringify({ events: a.events }, null, 1);
    text(status, "fetched " + a.count + " entries from the KMS at " + a.kms
        + "; recompute the chain to check them (this page takes neither the KMS's nor this service's word)");
  } catch (e) {
    text(status, "cannot fetch the audit log: " + e.message);
  }
}

/** Fills the head field with the registry's latest anchor (GET /audit/anchor), as HASH@ENTRIES. */
async function useAnchoredHead() {
  const status = $("audit-anchor-status");
  try {
    const r = await fetch("audit/anchor");
    const a = await r.json();
    if (!a.readable) throw new Error(a.error || "HTTP " + r.status);
    if (!a.entryCount) {
      text(status, "nothing anchored yet (registry " + a.registry + ", block " + a.blockNumber + ")");
      return;
    }
    $("audit-head").value = a.head + "@" + a.entryCount;
    text(status, "anchored at block " + a.atBlock + ", read at block " + a.blockNumber + " (" + a.blockHash + ")");
  } catch (e) {
    text(status, "cannot read the anchor: " + e.message);
  }
}

function showTab(auditor) {
  $("response-section").hidden = auditor;
  $("auditor-section").hidden = !auditor;
}

for (const input of document.querySelectorAll("input[type=file][data-target]")) {
  input.addEventListener("change", async () => {
    if (input.files.length > 0) {
      const target = $(input.dataset.target);
      delete target.dataset.base64;
      target.value = await input.files[0].text();
    }
  });
}
$("exchange-file").addEventListener("change", async () => {
  const input = $("exchange-file");
  if (input.files.length > 0) loadExchange(input.files[0].name, await input.files[0].text());
});
for (const f of ["request", "response"]) $(f).addEventListener("input", () => delete $(f).dataset.base64);
$("form").addEventListener("submit", verify);
$("fetch").addEventListener("click", fetchFromProxy);
$("audit-verify").addEventListener("click", verifyAudit);
$("audit-anchor").addEventListener("click", useAnchoredHead);
$("audit-fetch").addEventListener("click", fetchAuditLog);
$("tab-response").addEventListener("click", () => showTab(false));
$("tab-auditor").addEventListener("click", () => showTab(true));
