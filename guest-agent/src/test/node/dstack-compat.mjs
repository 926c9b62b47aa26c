// Runs @phala/dstack-sdk (the real dstack client) against the tee-kms guest agent's socket, named by
// DSTACK_SIMULATOR_ENDPOINT, and verifies what a third party can: signature chains (noble-curves recovery),
// quote/event-log consistency, compose hash, Sign/Verify, TLS keys. Prints one JSON object.
import { DstackClient } from '@phala/dstack-sdk';
import { secp256k1 } from '@noble/curves/secp256k1';
import { ed25519 } from '@noble/curves/ed25519';
import { keccak_256 } from '@noble/hashes/sha3';
import { sha256 } from '@noble/hashes/sha256';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';

const hex = (b) => Buffer.from(b).toString('hex');
const u16 = (n) => Buffer.from([n >> 8, n & 0xff]);
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const F = (b) => Buffer.concat([u16(b.length), Buffer.from(b)]);
const ascii = (s) => Buffer.from(s, 'utf8');

// docs/key-derivation.md §6
function purposeKeyMessage(g, appId, v, purpose, algorithm, path, publicKey) {
  return Buffer.concat([F(ascii('tee-kms/v1/purpose-key')), F(u32(g)), F(appId), F(u32(v)), F(ascii(purpose)),
    F(ascii(algorithm)), F(ascii(path)), F(Buffer.alloc(0)), F(publicKey)]);
}
function appRootMessage(g, appId, v, appRootPublicKey) {
  return Buffer.concat([F(ascii('tee-kms/v1/app-root-key')), F(u32(g)), F(appId), F(u32(v)), F(appRootPublicKey)]);
}
function recover(message, sig65) {
  const s = secp256k1.Signature.fromCompact(sig65.slice(0, 64)).addRecoveryBit(sig65[64] - 27);
  return s.recoverPublicKey(keccak_256(message));
}
const address = (point) => '0x' + hex(keccak_256(point.toRawBytes(false).slice(1)).slice(-20));

function verifyChain(appId, algorithm, path, publicKey, chain) {
  const appRoot = recover(purposeKeyMessage(1, appId, 1, 'user', algorithm, path, publicKey), chain[0]);
  const kms = recover(appRootMessage(1, appId, 1, appRoot.toRawBytes(true)), chain[1]);
  return address(kms);
}

const client = new DstackClient();
const out = {};
const info = await client.info();
const appId = Buffer.from(info.app_id, 'hex');
out.info = { app_id: info.app_id, instance_id: info.instance_id, compose_hash: info.compose_hash,
  app_name: info.app_name, mr_aggregated: info.mr_aggregated, rtmr3: info.tcb_info.rtmr3,
  compose_hash_of_app_compose: hex(sha256(ascii(info.tcb_info.app_compose))),
  events: info.tcb_info.event_log.map((e) => e.event) };

const k1 = await client.getKey('wallet/eth', 'signing');
const k1again = await client.getKey('wallet/eth', 'signing');
const k1other = await client.getKey('wallet/eth', 'encryption');
const k1pub = secp256k1.getPublicKey(k1.key, true);
out.secp256k1 = { key: hex(k1.key), deterministic: hex(k1.key) === hex(k1again.key),
  purposeSeparates: hex(k1.key) !== hex(k1other.key), chainLength: k1.signature_chain.length,
  kmsRoot: verifyChain(appId, 'secp256k1', 'dstack:7:signingwallet/eth', k1pub, k1.signature_chain) };

const e1 = await client.getKey('ssh/host', '', 'ed25519');
out.ed25519 = { key: hex(e1.key), kmsRoot: verifyChain(appId, 'ed25519', 'dstack:0:ssh/host',
  ed25519.getPublicKey(e1.key), e1.signature_chain) };

const q = await client.getQuote('hello tee-kms');
const quote = Buffer.from(q.quote, 'hex');
out.quote = { replayedRtmr3: q.replayRtmrs()[3], quotedRtmr3: hex(quote.subarray(520, 568)),
  quotedReportData: hex(quote.subarray(568, 632)), reportData: q.report_data,
  expectedReportData: hex(Buffer.concat([ascii('hello tee-kms'), Buffer.alloc(64 - 13)])) };

const data = ascii('sign me');
const s1 = await client.sign('secp256k1', data);
const s2 = await client.sign('ed25519', data);
const digest = sha256(data);
const s3 = await client.sign('secp256k1_prehashed', digest);
out.sign = {
  secp256k1: secp256k1.verify(s1.signature, sha256(data), s1.public_key),
  ed25519: ed25519.verify(s2.signature, data, s2.public_key),
  prehashed: secp256k1.verify(s3.signature, digest, s3.public_key),
  agentVerify: (await client.verify('secp256k1', data, s1.signature, s1.public_key)).valid,
  agentRejectsOther: (await client.verify('secp256k1', ascii('other'), s1.signature, s1.public_key)).valid,
};

const tls = await client.getTlsKey({ subject: 'demo.example', altNames: ['demo.example', 'api.demo.example'] });
if (!Array.isArray(tls.certificate_chain)) throw new Error('GetTlsKey: ' + JSON.stringify(tls));
const cert = new X509Certificate(tls.certificate_chain[0]);
out.tls = { subjectAltName: cert.subjectAltName, issuer: cert.issuer,
  keyMatches: createPublicKey(createPrivateKey(tls.key)).export({ format: 'der', type: 'spki' }).equals(
    cert.publicKey.export({ format: 'der', type: 'spki' })), certificatePem: tls.certificate_chain[0] };

out.version = await client.version();
out.reachable = await client.isReachable();
console.log(JSON.stringify(out));
