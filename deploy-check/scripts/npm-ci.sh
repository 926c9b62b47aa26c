#!/bin/sh
# Installs the pinned Kubernetes schema validators (k8s-schema/package-lock.json) unless node_modules is current.
# Run by the Maven build; needs the machine's own node and npm (the contract build needs them too).
set -eu
cd "$(dirname "$0")/../k8s-schema"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "deploy-check: Node.js and npm are required for the Kubernetes schema check" >&2
  echo "  (Debian/Ubuntu: apt-get install -y nodejs npm; .ci/run does this)" >&2
  exit 1
fi
if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ] \
   && [ -f node_modules/kubernetes-models/package.json ]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
