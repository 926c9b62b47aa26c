// Compiles src/main/solidity/*.sol with the pinned solc-js (package-lock.json), importing the pinned OpenZeppelin
// contracts, into ABI + bytecode resources:
//   <out>/org/teekms/governance/contracts/<Name>.abi.json, <Name>.bin (creation code, hex), <Name>.runtime.bin,
//   and build-info.json (compiler version and settings). Fails on any compiler error.
// Usage: node scripts/compile.js <outputDir> [sourceDir contract...]   (default: src/main/solidity, the two contracts
// above; the test build compiles src/test/solidity the same way)
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const EXPECTED_SOLC = '0.8.26';
const CONTRACTS = ['KmsRegistry', 'AppPolicy', 'RootCustody'];
// "paris" avoids PUSH0 and later opcodes so the bytecode runs on every EVM chain. AppPolicy is created through
// AppPolicyFactory so that the registry stays well under the 24 KiB code-size limit (checked below).
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'paris',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
};

function main() {
  const [outDir, sourceArg, ...contractArgs] = process.argv.slice(2);
  if (!outDir) throw new Error('usage: node scripts/compile.js <outputDir> [sourceDir contract...]');
  const contracts = contractArgs.length > 0 ? contractArgs : CONTRACTS;
  const version = solc.version();
  if (!version.startsWith(EXPECTED_SOLC + '+')) {
    throw new Error(`solc ${EXPECTED_SOLC} expected, found ${version}: run npm ci`);
  }
  const srcDir = path.resolve(sourceArg || path.join(__dirname, '..', 'src', 'main', 'solidity'));
  const sources = {};
  for (const f of fs.readdirSync(srcDir).filter((f) => f.endsWith('.sol')).sort()) {
    sources[f] = { content: fs.readFileSync(path.join(srcDir, f), 'utf8') };
  }
  const input = { language: 'Solidity', sources, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: (p) => readImport(srcDir, p) }));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  for (const e of output.errors || []) console.error(e.formattedMessage);
  if (errors.length > 0) throw new Error(`${errors.length} compiler error(s)`);

  const target = path.join(outDir, 'org', 'teekms', 'governance', 'contracts');
  fs.mkdirSync(target, { recursive: true });
  for (const name of contracts) {
    const file = Object.keys(output.contracts).find((f) => output.contracts[f][name]);
    if (!file) throw new Error(`contract ${name} not found in the compiler output`);
    const c = output.contracts[file][name];
    const runtimeSize = c.evm.deployedBytecode.object.length / 2;
    if (runtimeSize > 24576) throw new Error(`${name} runtime code is ${runtimeSize} bytes, over the 24 KiB limit`);
    fs.writeFileSync(path.join(target, `${name}.abi.json`), JSON.stringify(c.abi, null, 1) + '\n');
    fs.writeFileSync(path.join(target, `${name}.bin`), c.evm.bytecode.object); // no newline: web3j's codegen embeds it
    fs.writeFileSync(path.join(target, `${name}.runtime.bin`), c.evm.deployedBytecode.object + '\n');
    console.log(`compiled ${name}: ${runtimeSize} bytes runtime code`);
  }
  fs.writeFileSync(path.join(target, 'build-info.json'),
    JSON.stringify({ compiler: version, settings: { ...SETTINGS, outputSelection: undefined } }, null, 1) + '\n');
}

// Imports resolve inside the source folder, or (only "@openzeppelin/contracts/…") to the OpenZeppelin package pinned in
// package-lock.json; nothing else is reachable, so the build reads no file it did not pin.
const OPENZEPPELIN = '@openzeppelin/contracts/';
const OPENZEPPELIN_DIR = path.resolve(__dirname, '..', 'node_modules', '@openzeppelin', 'contracts');

function readImport(srcDir, p) {
  const [root, rel] = p.startsWith(OPENZEPPELIN) ? [OPENZEPPELIN_DIR, p.slice(OPENZEPPELIN.length)] : [srcDir, p];
  const resolved = path.resolve(root, rel);
  if (!resolved.startsWith(root + path.sep)) return { error: `import outside ${root}: ${p}` };
  try {
    return { contents: fs.readFileSync(resolved, 'utf8') };
  } catch (e) {
    return { error: `cannot read ${p}: ${e.message}` };
  }
}

try {
  main();
} catch (e) {
  console.error(`governance-contracts: ${e.message}`);
  process.exit(1);
}
