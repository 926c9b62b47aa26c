// dstack's JS SDK emitEvent against the tee-kms agent (DSTACK_SIMULATOR_ENDPOINT): an app event, then a reserved
// name (the SDK ignores the agent's refusal, so the test checks the log), then a quote whose event log the SDK replays. Prints one JSON object.
import { DstackClient } from '@phala/dstack-sdk';

const client = new DstackClient();
const out = {};
await client.emitEvent('app-model-loaded', 'qwen2.5-7b');
try {
  await client.emitEvent('compose-hash', 'ab'.repeat(32));
  out.reserved = 'accepted';
} catch (e) {
  out.reserved = String(e.message || e);
}
const quote = await client.getQuote('00');
const log = JSON.parse(quote.event_log);
out.events = log.filter((e) => e.imr === 3).map((e) => e.event);
out.replayedRtmr3 = quote.replayRtmrs()[3];
process.stdout.write(JSON.stringify(out));
