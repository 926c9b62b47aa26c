#!/bin/sh
# Installs the pinned build tools (solc-js, anvil) and OpenZeppelin contracts from package-lock.json, unless node_modules is already current.
# Run by the Maven build; needs the machine's own node and npm.
set -eu
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "governance-contracts: Node.js and npm are required to compile the contracts and run anvil" >&2
  echo "  (Debian/Ubuntu: apt-get install -y nodejs npm; .ci/run does this)" >&2
  exit 1
fi
if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ] \
   && [ -x node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil ] && [ -f node_modules/solc/soljson.js ] \
   && [ -f node_modules/@openzeppelin/contracts/access/Ownable2Step.sol ]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
