// The JS side of bench/dcap-compare: runs bench/dcap-cases.json through @phala/dcap-qvl (pure JS) and
// @phala/dcap-qvl-web (Rust -> wasm), then prints, next to the Java results (a JSON file from
// org.teekms.bench.DcapCompare: warm and cold), each verifier's verdict and throughput, the ratios, and whether
// verdicts agree. The JS verifiers keep no state between calls: every call checks all collateral (that is what the
// Java "cold" column reproduces). Rates are given per wall-clock second and per CPU second of the process (the JS
// verifiers are single-threaded; CPU time is what a loaded machine distorts least). Ratios use CPU seconds.
// Usage: node dcap-compare.mjs FIXTURES_DIR CASES_JSON JAVA_RESULTS_JSON SECONDS_PER_ROUND
import fs from 'fs';
import os from 'os';
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

// Best of 3 rounds, as on the Java side: the machine is shared. Wall-clock rate and rate per CPU second (user+system
// of this process, which also counts V8's GC threads: a conservative figure for the peer).
function measure(fn, q, c, at) {
  let best = 0;
  let bestCpu = 0;
  for (let round = 0; round < 3; round++) {
    let n = 0;
    const cpu0 = process.cpuUsage();
    const start = process.hrtime.bigint();
    const end = start + BigInt(Math.round(seconds * 1e9));
    let now;
    do {
      try { fn(q, c, at); } catch (e) { /* invalid quotes are timed too */ }
      n++;
      now = process.hrtime.bigint();
    } while (now < end);
    const cpu = process.cpuUsage(cpu0);
    best = Math.max(best, n / (Number(now - start) / 1e9));
    bestCpu = Math.max(bestCpu, n / (Math.max(1, cpu.user + cpu.system) / 1e6));
  }
  return { perSecond: best, perCpuSecond: bestCpu };
}

const cases = JSON.parse(fs.readFileSync(casesFile)).map((c) => ({
  ...c, q: quoteBytes(c.quote), col: JSON.parse(fs.readFileSync(path.join(fixtures, c.collateral))),
}));
const javaOut = JSON.parse(fs.readFileSync(javaFile));
const java = Object.fromEntries(javaOut.cases.map((r) => [r.id, r]));
const loadAtJsStart = os.loadavg()[0];

const results = {};
for (const [name, fn] of Object.entries(verifiers)) {
  // warm-up (V8's optimising compiler): all cases, for at least 10 s
  const warmEnd = process.hrtime.bigint() + 10_000_000_000n;
  do { for (const c of cases) verdict(fn, c.q, c.col, c.at); } while (process.hrtime.bigint() < warmEnd);
  results[name] = Object.fromEntries(cases.map((c) => [c.id, { ...verdict(fn, c.q, c.col, c.at), ...measure(fn, c.q, c.col, c.at) }]));
}

const same = (a, b) => a.ok === b.ok && (!a.ok || (a.status === b.status && JSON.stringify(a.advisoryIds) === JSON.stringify(b.advisoryIds)));
const show = (v) => (v.ok ? `${v.status}${v.advisoryIds.length ? ' ' + v.advisoryIds.join(',') : ''}` : `invalid: ${v.error.slice(0, 28)}`);
const js = results['dcap-qvl (JS)'];
const web = results['dcap-qvl-web (wasm)'];
let allAgreeJs = true;
let allAgreeWeb = true;
const rows = [];
// harmonic aggregation: the time to verify one of each case, per wall-clock second and per CPU second
const sums = { warm: 0, warmCpu: 0, cold: 0, coldCpu: 0, js: 0, jsCpu: 0, wasm: 0, wasmCpu: 0 };
const r0 = (x) => Math.round(x);
for (const c of cases) {
  const j = java[c.id];
  const agreeJs = same(j, js[c.id]);
  const agreeWeb = same(j, web[c.id]);
  allAgreeJs &&= agreeJs;
  allAgreeWeb &&= agreeWeb;
  sums.warm += 1 / j.perSecond; sums.warmCpu += 1 / j.perCpuSecond;
  sums.cold += 1 / j.coldPerSecond; sums.coldCpu += 1 / j.coldPerCpuSecond;
  sums.js += 1 / js[c.id].perSecond; sums.jsCpu += 1 / js[c.id].perCpuSecond;
  sums.wasm += 1 / web[c.id].perSecond; sums.wasmCpu += 1 / web[c.id].perCpuSecond;
  rows.push({
    case: c.id,
    java: show(j),
    'warm/cpu-s': r0(j.perCpuSecond), 'cold/cpu-s': r0(j.coldPerCpuSecond),
    'js/cpu-s': r0(js[c.id].perCpuSecond), 'wasm/cpu-s': r0(web[c.id].perCpuSecond),
    'cold÷js': (j.coldPerCpuSecond / js[c.id].perCpuSecond).toFixed(1),
    'warm÷js': (j.perCpuSecond / js[c.id].perCpuSecond).toFixed(1),
    'agree js': agreeJs ? (j.ok ? 'yes' : `yes (${js[c.id].error.slice(0, 28)})`) : `NO (${show(js[c.id])})`,
    'agree wasm': agreeWeb ? (j.ok ? 'yes' : `yes (${web[c.id].error.slice(0, 28)})`) : `NO (${show(web[c.id])})`,
  });
}
console.table(rows);
const n = cases.length;
const rate = (sum) => n / sum;
const ratio = (a, b) => Number((rate(a) / rate(b)).toFixed(1));
const summary = {
  machine: { ...javaOut.machine, node: process.version, loadAverageAtJsStart: loadAtJsStart, loadAverageAtJsEnd: os.loadavg()[0] },
  cases: n,
  secondsPerCase: seconds,
  perCpuSecond: { javaWarm: r0(rate(sums.warmCpu)), javaCold: r0(rate(sums.coldCpu)), js: r0(rate(sums.jsCpu)), wasm: r0(rate(sums.wasmCpu)) },
  perWallSecond: { javaWarm: r0(rate(sums.warm)), javaCold: r0(rate(sums.cold)), js: r0(rate(sums.js)), wasm: r0(rate(sums.wasm)) },
  ratioColdToJs: ratio(sums.coldCpu, sums.jsCpu),
  ratioWarmToJs: ratio(sums.warmCpu, sums.jsCpu),
  ratioColdToWasm: ratio(sums.coldCpu, sums.wasmCpu),
  ratioWarmToWasm: ratio(sums.warmCpu, sums.wasmCpu),
  ratioColdToJsWallClock: ratio(sums.cold, sums.js),
  ratioWarmToJsWallClock: ratio(sums.warm, sums.js),
  verdictsAgreeWithJs: allAgreeJs,
  verdictsAgreeWithWasm: allAgreeWeb,
};
console.log(JSON.stringify(summary, null, 2));
process.exit(allAgreeJs ? 0 : 1);
