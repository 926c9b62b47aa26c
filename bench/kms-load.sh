#!/usr/bin/env bash
# KMS admission load generator (issue 7 benchmark): anvil + the packaged KMS server (dev profile, simulator, embedded
# PostgreSQL) + simulated CVMs, each admission a NEW mutual RA-TLS connection on a never-seen certificate + GetAppKeys.
#
#   bench/kms-load.sh [levels] [seconds-per-level] [warm-up-seconds-per-level]
#   bench/kms-load.sh 1,16,64 20 20
#   RATE=300 bench/kms-load.sh 64 20 20     # open loop: 300 admissions/s offered, at most 64 in flight
#   FLOOD=4 bench/kms-load.sh 8 20 20       # each level measured again while 4 threads flood from 127.0.0.2 (forged
#                                           # handshakes, GetKmsInfo); the KMS keeps per-source budgets of 600/min
#
# Before the levels, the KMS is loaded at the highest level until its JIT has settled (compiler threads < 5 % of its
# CPU over 15 s; at most JIT_SETTLE seconds, default 240, JIT_SETTLE=0 skips it): on 2 cores it compiles for 150-180 s
# of full load, and figures taken inside that tail depend on how long the run happened to warm up.
# Environment: SKIP_BUILD=1 reuses the last build; KMS_SERVER_OPTS adds server JVM options, e.g.
#   KMS_SERVER_OPTS="-XX:StartFlightRecording=filename=/tmp/kms.jfr,settings=profile" (then: jfr summary /tmp/kms.jfr).
#   LOADGEN_OPTS adds load-generator JVM options the same way.
#   SERVER_CPUS=0 CLIENT_CPUS=1 pins the KMS + its embedded PostgreSQL to CPU 0 and the simulated CVMs + anvil to CPU 1
#   (taskset), so the KMS side's capacity is measured on one known core.
set -euo pipefail
cd "$(dirname "$0")/.."
levels="${1:-1,16,64}"
seconds="${2:-20}"
warmup="${3:-20}"
cp_file="kms-server/target/bench-classpath.txt"
if [[ "${SKIP_BUILD:-0}" != "1" || ! -f "$cp_file" ]]; then
  ./mvnw -B -q -o -pl kms-server -am package dependency:build-classpath -DskipTests \
      -Dmdep.outputFile="$PWD/$cp_file" -Dmdep.includeScope=test
fi
echo "kms-load: $(nproc) cores, load average $(cut -d" " -f1-3 /proc/loadavg) (the generator prints the machine, a calibration and the KMS's TLS engine and GC)"
pin=()
if [[ -n "${CLIENT_CPUS:-}" ]]; then pin=(taskset -c "$CLIENT_CPUS"); fi
exec "${pin[@]}" java ${LOADGEN_OPTS:-} -Dteekms.bench.server-cpus="${SERVER_CPUS:-}" -Dteekms.bench.warmup-seconds="$warmup" -Dteekms.bench.jit-settle-seconds="${JIT_SETTLE:-240}" -Dteekms.bench.rate="${RATE:-0}" \
    -Dteekms.bench.flood-threads="${FLOOD:-0}" \
    -cp "kms-server/target/test-classes:kms-server/target/classes:$(cat "$cp_file")" \
    org.teekms.kms.bench.LoadGenerator "$levels" "$seconds"
