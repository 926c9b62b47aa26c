// The JS side of bench/dcap-compare: runs bench/dcap-cases.json through @phala/dcap-qvl (pure JS) and
// @phala/dcap-qvl-web (Rust -> wasm), then prints, next to the Java results (a JSON file from
// org.teekms.bench.DcapCompare), each verifier's verdict and throughput, the ratios, and whether verdicts agree.
// Usage: node dcap-compare.mjs FIXTURES_DIR CASES_JSON JAVA_RESULTS_JSON SECONDS_PER_ROUND
import fs from 'fs';
import path from 'path';
import { createRequire } from 'module';

const require = createRequire(import.meta.url);
const [fixtures, casesFile, javaFile, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg || 3);
const qvlJs = require('@phala/dcap-qvl');
const qvlWeb = await import('@phala/dcap-qvl-web');
qvlWeb.initSync({ module: fs.readFileSync(require.resolve('@phala/dcap-qvl-web/dcap-qvl-web_bg.wasm')) });

function quoteBytes(spec) {
  const [file, field] = spec.split('#');
  let raw = fs.readFileSync(path.join(fixtures, file));
  if (field) raw = Buffer.from(JSON.parse(raw)[field], 'ascii');
  const text = raw.toString('latin1').trim();
  if (/^(0x)?[0-9a-fA-F\s]+$/.test(text)) return Buffer.from(text.replace(/^0x/, '').replace(/\s+/g, ''), 'hex');
  return raw;
}

const verifiers = {
  'dcap-qvl (JS)': (q, c, at) => qvlJs.verify(q, c, at),
  'dcap-qvl-web (wasm)': (q, c, at) => qvlWeb.js_verify(new Uint8Array(q), c, BigInt(at)),
};

function verdict(fn, q, c, at) {
  try {
    const r = fn(q, c, at);
    return { ok: true, status: r.status, advisoryIds: [...(r.advisory_ids || [])].sort(), error: null };
  } catch (e) {
    return { ok: false, status: null, advisoryIds: [], error: String((e && e.message) || e) };
  }
}

// Best of 3 rounds, as on the Java side: the machine is shared.
function measure(fn, q, c, at) {
  let best = 0;
  for (let round = 0; round < 3; round++) {
    let n = 0;
    const start = process.hrtime.bigint();
    const end = start + BigInt(Math.round(seconds * 1e9));
    let now;
    do {
      try { fn(q, c, at); } catch (e) { /* invalid quotes are timed too */ }
      n++;
      now = process.hrtime.bigint();
    } while (now < end);
    best = Math.max(best, n / (Number(now - start) / 1e9));
  }
  return best;
}

const cases = JSON.parse(fs.readFileSync(casesFile)).map((c) => ({
  ...c, q: quoteBytes(c.quote), col: JSON.parse(fs.readFileSync(path.join(fixtures, c.collateral))),
}));
const java = Object.fromEntries(JSON.parse(fs.readFileSync(javaFile)).map((r) => [r.id, r]));

const results = {};
for (const [name, fn] of Object.entries(verifiers)) {
  for (const c of cases) fn && verdict(fn, c.q, c.col, c.at); // warm-up
  results[name] = Object.fromEntries(cases.map((c) => [c.id, { ...verdict(fn, c.q, c.col, c.at), perSecond: measure(fn, c.q, c.col, c.at) }]));
}

const same = (a, b) => a.ok === b.ok && (!a.ok || (a.status === b.status && JSON.stringify(a.advisoryIds) === JSON.stringify(b.advisoryIds)));
const show = (v) => (v.ok ? `${v.status}${v.advisoryIds.length ? ' ' + v.advisoryIds.join(',') : ''}` : `invalid: ${v.error.slice(0, 28)}`);
const js = results['dcap-qvl (JS)'];
const web = results['dcap-qvl-web (wasm)'];
let allAgreeJs = true;
let allAgreeWeb = true;
const rows = [];
let sumJava = 0; let sumJs = 0; let sumWeb = 0;
for (const c of cases) {
  const j = java[c.id];
  const agreeJs = same(j, js[c.id]);
  const agreeWeb = same(j, web[c.id]);
  allAgreeJs &&= agreeJs;
  allAgreeWeb &&= agreeWeb;
  // harmonic aggregation: time to verify one of each case
  sumJava += 1 / j.perSecond; sumJs += 1 / js[c.id].perSecond; sumWeb += 1 / web[c.id].perSecond;
  rows.push({
    case: c.id,
    java: show(j), 'java/s': Math.round(j.perSecond),
    'js/s': Math.round(js[c.id].perSecond), 'wasm/s': Math.round(web[c.id].perSecond),
    'java÷js': (j.perSecond / js[c.id].perSecond).toFixed(1), 'java÷wasm': (j.perSecond / web[c.id].perSecond).toFixed(1),
    'agree js': agreeJs ? (j.ok ? 'yes' : `yes (${js[c.id].error.slice(0, 28)})`) : `NO (${show(js[c.id])})`,
    'agree wasm': agreeWeb ? (j.ok ? 'yes' : `yes (${web[c.id].error.slice(0, 28)})`) : `NO (${show(web[c.id])})`,
  });
}
console.table(rows);
const n = cases.length;
const summary = {
  cases: n,
  secondsPerCase: seconds,
  javaPerSecond: Math.round(n / sumJava),
  jsPerSecond: Math.round(n / sumJs),
  wasmPerSecond: Math.round(n / sumWeb),
  ratioJavaToJs: Number(((n / sumJava) / (n / sumJs)).toFixed(1)),
  ratioJavaToWasm: Number(((n / sumJava) / (n / sumWeb)).toFixed(1)),
  verdictsAgreeWithJs: allAgreeJs,
  verdictsAgreeWithWasm: allAgreeWeb,
};
console.log(JSON.stringify(summary, null, 2));
process.exit(allAgreeJs ? 0 : 1);
