// dstack's JS SDK attest() and the deprecated quote calls against the tee-kms agent (DSTACK_SIMULATOR_ENDPOINT).
// Prints one JSON object: the attestation blobs (hex, decoded by the Java test), what getQuote returns for the same
// report data, and what the SDK does with input it refuses itself.
import { DstackClient } from '@phala/dstack-sdk';

const client = new DstackClient();
const out = {};
const short = await client.attest('hello tee-kms');
out.short = { attestation: short.attestation, name: short.__name__ };
const full = Buffer.alloc(64);
for (let i = 0; i < 64; i++) full[i] = i;
out.full = { attestation: (await client.attest(full)).attestation };
const q = await client.getQuote(full);
out.quote = { quote: q.quote, vm_config: q.vm_config };
const legacy = await client.tdxQuote(full, 'raw');
out.tdxQuote = { reportData: legacy.report_data, quoteLength: legacy.quote.length };
async function refusal(f) {
  try {
    await f();
    return 'accepted';
  } catch (e) {
    return String(e.message || e);
  }
}
out.tooLong = await refusal(() => client.attest(Buffer.alloc(65)));
out.deriveKey = await refusal(() => client.deriveKey('a'));
process.stdout.write(JSON.stringify(out));
