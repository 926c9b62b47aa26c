#!/usr/bin/env python3
"""bench/jfr-hot.py RECORDING.jfr [TOP] [LAST_S]: where a JVM's CPU went, from the execution samples of a JFR
recording (e.g. the KMS's, from KMS_SERVER_OPTS="-XX:StartFlightRecording=filename=/tmp/kms.jfr,settings=profile"
bench/kms-load.sh 64 20 30). Prints the TOP methods by self samples (the top frame) and by total samples (anywhere on
the stack, counted once per sample), then the share of samples per area of the admission path (the area of the
innermost frame that names one, see AREAS: a continuation that runs inline, e.g. the gRPC response written from the
audit commit's completion, counts where its CPU goes; generic crypto counts under its caller's area), and the heaviest allocation sites (jdk.ObjectAllocationSample weights) by top
application frame. LAST_S keeps the samples of the recording's last LAST_S seconds only (the KMS's recording ends
when the load generator stops it, right after the last measured level: LAST_S = that level's seconds). Needs `jfr` (the JDK's) on PATH. Samples are of Java threads in Java code: the JIT compiler
threads, GC and native code outside a Java frame are not in them; the load generator's CPU accounting has those."""
import collections, re, subprocess, sys

rec = sys.argv[1]
top = int(sys.argv[2]) if len(sys.argv) > 2 else 40
last = float(sys.argv[3]) if len(sys.argv) > 3 else None

# (area, regex over "class.method" frames); a sample's area is that of its innermost frame matching a rule (the
# first rule that matches that frame); the generic crypto rule only applies when no other rule matches any frame.
AREAS = [
    ("audit group commit (AuditLog/AuditGroupCommit)", r"org\.teekms\.kms\.audit\."),
    ("grant ledger / Hibernate Reactive", r"org\.hibernate\.|org\.teekms\.kms\.grant\."),
    ("RA-TLS client verification (RaTlsVerifier)", r"org\.teekms\.attest\.ratls\.RaTlsVerifier\."),
    ("DCAP quote verification", r"org\.teekms\.attest\.tdx\."),
    ("GPU evidence", r"org\.teekms\.attest\.gpu\."),
    ("event log replay", r"org\.teekms\.attest\.eventlog\."),
    ("KMS certificate / key managers (handshake signing)", r"org\.teekms\.attest\.ratls\.|org\.teekms\.kms\.tls\."),
    ("on-chain policy (web3j / governance)", r"org\.web3j\.|org\.teekms\.governance\.|GovernanceAppPolicy"),
    ("key derivation and issuance", r"org\.teekms\.keys\.|org\.teekms\.kms\.keys\.|org\.teekms\.crypto\."),
    ("admission (rest)", r"org\.teekms\.kms\.admission\.|org\.teekms\.kms\.grpc\."),
    ("PostgreSQL client", r"io\.vertx\.pgclient\.|io\.vertx\.sqlclient\."),
    ("TLS in JSSE (handshake, records)", r"sun\.security\.ssl\."),
    ("TLS glue (Netty SslHandler; BoringSSL when tcnative)", r"io\.netty\.handler\.ssl\.|io\.netty\.internal\.tcnative\."),
    ("crypto (JCA / BouncyCastle) outside the above", r"sun\.security\.|org\.bouncycastle\.|com\.sun\.crypto\."),
    ("gRPC / protobuf", r"io\.grpc\.|com\.google\.protobuf\."),
    ("logging", r"org\.jboss\.logmanager\.|org\.jboss\.logging\."),
    ("metrics (Micrometer)", r"io\.micrometer\."),
    ("HTTP/2, Netty, Vert.x (rest)", r"io\.netty\.|io\.vertx\.|io\.quarkus\."),
]
AREAS = [(a, re.compile(r)) for a, r in AREAS]

FRAME = re.compile(r"^\s+([\w$.<>]+)\((.*?)\)")


def events(kind):
    out = subprocess.run(["jfr", "print", "--stack-depth", "256", "--events", kind, rec],
                         capture_output=True, text=True, check=True).stdout
    ev, frames, in_stack = None, [], False
    for line in out.splitlines():
        if line.startswith(kind.split(".")[-1] + " {") or line.startswith("jdk."):
            ev, frames, in_stack = {}, [], False
            continue
        if ev is None:
            continue
        s = line.strip()
        if s.startswith("stackTrace = ["):
            in_stack = True
            continue
        if in_stack:
            if s == "]":
                in_stack = False
                ev["frames"] = frames
                continue
            m = FRAME.match(line)
            if m:
                frames.append(m.group(1))
            continue
        if s == "}":
            yield ev
            ev = None
            continue
        if " = " in s:
            k, v = s.split(" = ", 1)
            ev[k] = v


def seconds(ts):
    # "08:50:01.123" or an ISO form: seconds of the day are enough to window one recording
    m = re.search(r"(\d\d):(\d\d):(\d\d(?:\.\d+)?)", ts or "")
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)) if m else None


def windowed(evs):
    evs = list(evs)
    if last is None:
        return evs
    times = [t for t in (seconds(e.get("startTime")) for e in evs) if t is not None]
    end = max(times) if times else 0
    return [e for e in evs if (seconds(e.get("startTime")) or end) >= end - last]


self_c, total_c, area_c = collections.Counter(), collections.Counter(), collections.Counter()
n = 0
for e in windowed(events("jdk.ExecutionSample")):
    fr = e.get("frames") or []
    if not fr:
        continue
    n += 1
    self_c[fr[0]] += 1
    for f in set(fr):
        total_c[f] += 1
    area = None
    for f in fr:
        for a, r in AREAS:
            if not a.startswith("crypto") and r.search(f):
                area = a
                break
        if area:
            break
    if area is None:
        area = next((a for a, r in AREAS if a.startswith("crypto") and any(r.search(f) for f in fr)), "other")
    area_c[area] += 1

print(f"{n} execution samples in {rec}" + (f" (last {last:.0f} s)" if last is not None else ""))
print(f"\n## top {top} by self samples")
for f, c in self_c.most_common(top):
    print(f"{100.0 * c / n:6.2f} %  {f}")
print(f"\n## top {top} by total samples (on the stack)")
for f, c in total_c.most_common(top):
    print(f"{100.0 * c / n:6.2f} %  {f}")
print("\n## by area (innermost frame naming one)")
for a, c in area_c.most_common():
    print(f"{100.0 * c / n:6.2f} %  {a}")

alloc, alloc_total = collections.Counter(), 0
for e in windowed(events("jdk.ObjectAllocationSample")):
    w = re.sub(r"[^\d.]", "", (e.get("weight") or "0").split()[0]) or "0"
    unit = (e.get("weight") or "").split()[-1] if e.get("weight") else "bytes"
    mult = {"kB": 1e3, "MB": 1e6, "GB": 1e9}.get(unit, 1)
    b = float(w) * mult
    alloc_total += b
    fr = e.get("frames") or []
    site = next((f for f in fr if f.startswith("org.teekms.")), fr[0] if fr else "?")
    alloc[(e.get("objectClass", "?").split(" ")[0], site)] += b
if alloc_total:
    print(f"\n## allocation (sampled weight {alloc_total / 1e6:.0f} MB), top {top} by class and first tee-kms frame")
    for (cls, site), b in alloc.most_common(top):
        print(f"{100.0 * b / alloc_total:6.2f} %  {cls}  at {site}")
