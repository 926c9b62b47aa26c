#!/usr/bin/env bash
# KMS replicas on ONE PostgreSQL (issue 20 item 3, issue 17 item 4): org.teekms.kms.bench.ReplicaLoad starts a durable
# embedded PostgreSQL, anvil with the registry, node 1 (bootstraps root generation 1, then registered and published on
# chain as an operator would) and nodes 2..N (JOIN below); simulated CVMs spread round-robin over the nodes (each
# admission a new certificate). Before the levels, all N nodes serve for SETTLE seconds (default 240; 0 skips) so
# that every node's JIT has settled.
#
#   bench/kms-replicas.sh [node-counts] [clients] [seconds] [warm-up-seconds]
#   bench/kms-replicas.sh 1,2,3 64 20 20          # admissions/s with 1, 2 and 3 nodes serving
#   MODE=faults KILLS=3 bench/kms-replicas.sh 3 32 60 15
#       # load on 3 nodes; 3 rounds of: app rotation enqueued, kill -9 of a node 0-1.5 s later, restart; then checks
#       # grants, audit entries, the audit chain, each rotation once, identical keys on every node (exit 1 on failure)
#
# Pinning: with at least N + 2 cores, node i runs on CPU i-1 (taskset) and this harness (clients, anvil, PostgreSQL)
# on CPUs N..last; with fewer nothing is pinned and the run says so. PIN=0 disables pinning.
#   JOIN=onboard bench/kms-replicas.sh 3 8 30 10
#       # nodes 2..N join by attested onboarding from node 1 instead of being given node 1's sealing key
#
# Environment: SKIP_BUILD=1 reuses the last build; SETTLE=seconds of the settle phase (scale mode); KMS_SERVER_OPTS
# adds server JVM options (every node);
# JOIN=shared-key (default) | onboard: how nodes 2..N get the root secrets. shared-key copies node 1's sealing key
# file to them, so node 1's sealed copies are theirs; onboard allows node 1's measurement, device and OS image as a
# KMS on chain (isKmsAllowed) and starts nodes 2..N with teekms.onboarding.source = node 1, so each receives the roots
# over mutual RA-TLS and seals its own copy with its own sealing key. LOADGEN_OPTS adds JVM options to the harness.
set -euo pipefail
cd "$(dirname "$0")/.."
counts="${1:-1,2,3}"
clients="${2:-64}"
seconds="${3:-20}"
warmup="${4:-20}"
cp_file="kms-server/target/bench-classpath.txt"
if [[ "${SKIP_BUILD:-0}" != "1" || ! -f "$cp_file" ]]; then
  ./mvnw -B -q -o -pl kms-server -am package dependency:build-classpath -DskipTests \
      -Dmdep.outputFile="$PWD/$cp_file" -Dmdep.includeScope=test
fi
max=$(tr ',' '\n' <<<"$counts" | sort -n | tail -1)
cores=$(nproc)
pin=()
if [[ "${PIN:-1}" != "0" && $cores -ge $((max + 2)) ]]; then
  pin=(taskset -c "$max-$((cores - 1))")
fi
echo "kms-replicas: $cores cores, load average $(cut -d" " -f1-3 /proc/loadavg), java: $(java -version 2>&1 | head -1)"
case "${JOIN:-shared-key}" in
  shared-key | onboard) ;;
  *) echo "JOIN must be shared-key or onboard, got '${JOIN}'" >&2; exit 2 ;;
esac
exec "${pin[@]}" java ${LOADGEN_OPTS:-} -Dteekms.bench.replica-mode="${MODE:-scale}" -Dteekms.bench.kills="${KILLS:-3}" \
    ${JOIN:+-Dteekms.bench.replica-join=$JOIN} \
    -Dteekms.bench.pin="${PIN:-1}" -Dteekms.bench.replica-settle-seconds="${SETTLE:-240}" \
    -cp "kms-server/target/test-classes:kms-server/target/classes:$(cat "$cp_file")" \
    org.teekms.kms.bench.ReplicaLoad "$counts" "$clients" "$seconds" "$warmup"
