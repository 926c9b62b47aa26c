// Drives dstack's real JS SDK for the env-secret tests (EnvSecretsCompatTest, EnvSecretsBootTest):
//   encrypt <recipientPubHex> <envsJson>        -> the SDK's encryptEnvVars output (hex)
//   decrypt <privHex> <blobHex>                 -> plaintext (utf-8) through a REFERENCE DECODER written here from
//                                                  dstack's Rust guest (dstack-util crypto.rs dh_decrypt): the SDK
//                                                  ships no decoder
//   verify-pubkey <pubHex> <sigHex> <appIdHex> <timestamp>
//                                               -> the SDK's verifyEnvEncryptPublicKey answer (signer pubkey or null)
import { encryptEnvVars } from '@phala/dstack-sdk/encrypt-env-vars';
import { verifyEnvEncryptPublicKey } from '@phala/dstack-sdk';
import { x25519 } from '@noble/curves/ed25519';

const hex = (h) => Uint8Array.from(Buffer.from(h.replace(/^0x/, ''), 'hex'));
const [mode, a, b, c, d] = process.argv.slice(2);

if (mode === 'encrypt') {
  process.stdout.write(await encryptEnvVars(JSON.parse(b), a));
} else if (mode === 'decrypt') {
  const data = hex(b);
  if (data.length < 44) throw new Error('ciphertext too short');
  const shared = x25519.getSharedSecret(hex(a), data.slice(0, 32));
  if (shared.every((x) => x === 0)) throw new Error('invalid X25519 shared secret');
  const key = await crypto.subtle.importKey('raw', shared, { name: 'AES-GCM', length: 256 }, false, ['decrypt']);
  const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: data.slice(32, 44) }, key, data.slice(44));
  process.stdout.write(Buffer.from(plain).toString('utf8'));
} else if (mode === 'verify-pubkey') {
  const signer = verifyEnvEncryptPublicKey(hex(a), hex(b), c, BigInt(d));
  process.stdout.write(String(signer));
} else {
  throw new Error('unknown mode ' + mode);
}
