#!/usr/bin/env bash
# Resident memory of the KMS and of the guest agent (issue 20 item 4), at idle and at the peak of a load:
# org.teekms.kms.bench.ReplicaLoad in memory mode (org.teekms.kms.bench.MemoryProbe) starts PostgreSQL, anvil and one
# packaged KMS (dev profile, simulator), samples it (RSS from /proc; heap used/committed and metaspace from jstat -gc)
# idle, during closed-loop admissions and after; then boots the guest agent as its own process (simulated TDX with the
# KMS's seed) twice, with the JVM's defaults and with the flags deploy/systemd/teekms-agent.service sets
# (JAVA_TOOL_OPTIONS), and samples it idle, under 16 threads of GetKey on its key API socket, and after.
#
#   bench/memory.sh [clients] [seconds] [warm-up-seconds]
#   bench/memory.sh 64 20 20
#   KMS_SERVER_OPTS="-XX:MaxRAMPercentage=50" bench/memory.sh     # other KMS flags
#   AGENT_EXTRA_FLAGS="-XX:+UseSerialGC -Xmx64m ..." bench/memory.sh  # a third agent flag set, measured after the two
# Environment: SKIP_BUILD=1 reuses the last build.
set -euo pipefail
cd "$(dirname "$0")/.."
clients="${1:-64}"
seconds="${2:-20}"
warmup="${3:-20}"
cp_file="kms-server/target/bench-classpath.txt"
if [[ "${SKIP_BUILD:-0}" != "1" || ! -f "$cp_file" || ! -f guest-agent/target/teekms-agent.jar ]]; then
  ./mvnw -B -q -o -pl kms-server,guest-agent -am package dependency:build-classpath -DskipTests \
      -Dmdep.outputFile="$PWD/$cp_file" -Dmdep.includeScope=test
fi
echo "memory: $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB RAM, load average $(cut -d" " -f1-3 /proc/loadavg), java: $(java -version 2>&1 | head -1)"
exec java ${LOADGEN_OPTS:-} -Dteekms.bench.replica-mode=memory -Dteekms.bench.pin=0 \
    -cp "kms-server/target/test-classes:kms-server/target/classes:$(cat "$cp_file")" \
    org.teekms.kms.bench.ReplicaLoad 1 "$clients" "$seconds" "$warmup"
