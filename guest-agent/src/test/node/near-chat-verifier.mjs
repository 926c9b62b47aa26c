// An independent re-implementation, written for our tests, of the checks NEAR AI's public chat verifier
// (github.com/nearai/nearai-cloud-verifier, py/chat_verifier.py + py/model_verifier.py) runs on a signed chat
// response, minus the network services it calls (Intel's DCAP collateral, NVIDIA NRAS): those are our own
// verifiers' job in the Java tests. The point is the wire format: if this accepts our proxy's output, so does theirs.
//
// Usage: BASE_URL=http://127.0.0.1:P API_KEY=token node near-chat-verifier.mjs <chat_id> <request file>
//        <response file> <model> [ecdsa|ed25519]
// Prints one JSON object of named booleans; exits 0 even when a check fails (the caller asserts).
import { verifyMessage } from 'ethers';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [chatId, requestFile, responseFile, model, algo = 'ecdsa'] = process.argv.slice(2);
const base = process.env.BASE_URL;
const sha256hex = (buf) => createHash('sha256').update(buf).digest('hex');
const out = {};

// 1. The signature, fetched with the API key as their verifier does.
const sigUrl = `${base}/v1/signature/${encodeURIComponent(chatId)}?model=${encodeURIComponent(model)}`
  + `&signing_algo=${algo}`;
const sigResp = await fetch(sigUrl, { headers: { Authorization: `Bearer ${process.env.API_KEY}` } });
out.signatureStatus = sigResp.status;
const payload = await sigResp.json();
out.signatureKind = payload.signature_kind ?? null;

// 2. The text: two or three colon-separated parts; the last two are the request and response hashes.
const parts = String(payload.text).split(':');
out.textParts = parts.length;
const [reqHash, respHash] = parts.length === 3 ? parts.slice(1) : parts;
out.requestHashMatches = (parts.length === 2 || parts.length === 3) && reqHash === sha256hex(readFileSync(requestFile));
out.responseHashMatches = (parts.length === 2 || parts.length === 3)
  && respHash === sha256hex(readFileSync(responseFile));

// 3. The signature over the text, by the claimed signer.
if (algo === 'ecdsa') {
  out.signatureValid = verifyMessage(payload.text, payload.signature).toLowerCase()
    === String(payload.signing_address).toLowerCase();
} else {
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(payload.signing_address, 'hex')]);
  out.signatureValid = verify(null, Buffer.from(payload.text, 'utf8'),
    createPublicKey({ key: spki, format: 'der', type: 'spki' }), Buffer.from(payload.signature, 'hex'));
}

// 4. A fresh attestation of that signer, fetched WITHOUT credentials (their verifier sends none).
const nonce = randomBytes(32).toString('hex');
const repUrl = `${base}/v1/attestation/report?model=${encodeURIComponent(model)}&nonce=${nonce}`
  + `&signing_algo=${algo}&signing_address=${payload.signing_address}`;
const repResp = await fetch(repUrl);
out.reportStatus = repResp.status;
const report = await repResp.json();
let attestation = report;
if (Array.isArray(report.model_attestations)) {
  attestation = report.model_attestations.find(
    (a) => String(a.signing_address).toLowerCase() === String(payload.signing_address).toLowerCase());
}
out.attestationFound = attestation !== undefined && !attestation.error;
out.allAttestationsHasSigner = Array.isArray(report.all_attestations) && report.all_attestations.some(
  (a) => String(a.signing_address).toLowerCase() === String(payload.signing_address).toLowerCase());

if (out.attestationFound) {
  // 5. REPORTDATA of the quote (TDX v4 quote: 48-byte header, report_data at 520 in the TD report body):
  //    the signing address right-padded to 32 bytes, then the raw nonce.
  const quote = Buffer.from(attestation.intel_quote, 'hex');
  const reportData = quote.subarray(48 + 520, 48 + 520 + 64);
  const signerAlgo = (attestation.signing_algo ?? 'ecdsa').toLowerCase();
  const addr = Buffer.from(signerAlgo === 'ecdsa' ? attestation.signing_address.replace(/^0x/, '')
    : attestation.signing_address, 'hex');
  const padded = Buffer.concat([addr, Buffer.alloc(32 - addr.length)]);
  out.bindsAddress = Buffer.compare(reportData.subarray(0, 32), padded) === 0;
  out.embedsNonce = reportData.subarray(32, 64).toString('hex') === nonce;
  // 6. GPU evidence made for the same nonce.
  if (attestation.nvidia_payload) {
    out.gpuNonceMatches = JSON.parse(attestation.nvidia_payload).nonce.toLowerCase() === nonce;
  }
}
console.log(JSON.stringify(out));
