// Third-party check of a proxy signature: ethers' verifyMessage (EIP-191 personal_sign recovery).
// Usage: node verify-signature.mjs <signature.json>   prints the recovered address.
import { verifyMessage } from 'ethers';
import { readFileSync } from 'node:fs';

const sig = JSON.parse(readFileSync(process.argv[2], 'utf8'));
console.log(JSON.stringify({ recovered: verifyMessage(sig.text, sig.signature), claimed: sig.signing_address }));
