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
    request: $("request").value,
    response: $("response").value,
    method: $("method").value || "POST",
    path: $("path").value || "/v1/chat/completions",
  };
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

for (const input of document.querySelectorAll("input[type=file]")) {
  input.addEventListener("change", async () => {
    if (input.files.length > 0) $(input.dataset.target).value = await input.files[0].text();
  });
}
$("form").addEventListener("submit", verify);
$("fetch").addEventListener("click", fetchFromProxy);
