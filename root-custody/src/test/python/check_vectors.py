#!/usr/bin/env python3
"""Independent check of docs/root-custody-vectors.json, written from docs/root-custody.md only.

Uses the `cryptography` package for the curve operations (k*G, ECDH), HKDF and AES-GCM; the Shamir arithmetic is
plain modular arithmetic. Run: python3 root-custody/src/test/python/check_vectors.py [path/to/vectors.json]
"""
import hashlib
import json
import struct
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # secp256k1 order
N256 = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256 order
LABEL = b"teekms-custody-share-v1"


def stream(label, n):
    out, k = b"", 0
    while len(out) < n:
        out += hashlib.sha256(label.encode() + struct.pack(">Q", k)).digest()
        k += 1
    return out


class Stream:
    def __init__(self, label):
        self.data, self.pos = stream(label, 4096), 0

    def take(self, n):
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def scalar(self, order, nonzero):
        while True:
            k = int.from_bytes(self.take(32), "big")
            if k < order and (k > 0 or not nonzero):
                return k


def point(curve, k, compressed):
    pub = ec.derive_private_key(k, curve).public_key()
    fmt = serialization.PublicFormat.CompressedPoint if compressed else serialization.PublicFormat.UncompressedPoint
    return pub.public_bytes(serialization.Encoding.X962, fmt)


def aes_key(priv_scalar, peer_pub, ephemeral, recipient):
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), peer_pub)
    z = ec.derive_private_key(priv_scalar, ec.SECP256R1()).exchange(ec.ECDH(), peer)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=LABEL, info=ephemeral + recipient).derive(z)


def aad(purpose, generation, index, cdigest, request, recipient, ephemeral):
    return (LABEL + bytes([purpose]) + struct.pack(">I", generation) + bytes([index]) + cdigest + request
            + hashlib.sha256(recipient).digest() + ephemeral)


def check_envelope(o, e_expected, recipient, purpose, generation, cdigest, request, plain):
    e = bytes.fromhex(o["envelope"])
    ephemeral = point(ec.SECP256R1(), e_expected, False)
    assert o["ephemeralPublicKey"] == ephemeral.hex() and e[1:66] == ephemeral
    nonce = e[66:78]
    assert o["nonce"] == nonce.hex()
    a = aad(purpose, generation, o["index"], cdigest, request, recipient, ephemeral)
    assert o["aad"] == a.hex()
    key = aes_key(e_expected, recipient, ephemeral, recipient)
    assert e == b"\x01" + ephemeral + nonce + AESGCM(key).encrypt(nonce, plain, a), o["index"]


def main(path):
    v = json.load(open(path))
    seed, g, t = v["rng"]["seed"], v["generation"], v["threshold"]
    s = Stream(seed + "/root").scalar(N, False)
    assert v["rootSecret"] == "%064x" % s
    keys = {}
    for c in v["custodians"]:
        d = Stream(c["privateKeyStream"]).scalar(N256, True)
        assert c["privateKey"] == "%064x" % d
        pub = point(ec.SECP256R1(), d, False)
        assert c["publicKey"] == pub.hex() and c["id"] == hashlib.sha256(pub).hexdigest()
        keys[c["index"]] = (d, pub)
    b = v["backup"]
    st = Stream(b["stream"])
    coeffs = [s] + [st.scalar(N, False) for _ in range(t - 1)]
    assert b["coefficients"] == ["%064x" % a for a in coeffs[1:]]
    commitments = bytes([1, t]) + b"".join(point(ec.SECP256K1(), a, True) for a in coeffs)
    assert b["commitments"] == commitments.hex()
    cdigest = hashlib.sha256(commitments).digest()
    assert b["commitmentsDigest"] == cdigest.hex()
    values = {}
    for o in b["shares"]:
        i = o["index"]
        y = sum(a * pow(i, j, N) for j, a in enumerate(coeffs)) % N
        values[i] = y
        enc = bytes([1, i]) + y.to_bytes(32, "big")
        assert o["value"] == "%064x" % y and o["encoding"] == enc.hex()
        e = st.scalar(N256, True)
        assert o["ephemeralScalar"] == "%064x" % e
        st.take(12)  # the nonce follows the ephemeral scalar in the stream
        check_envelope(o, e, keys[i][1], 1, g, cdigest, bytes(32), enc)
        assert o["envelopeDigest"] == hashlib.sha256(bytes.fromhex(o["envelope"])).hexdigest()
    r = v["recovery"]
    node_d = Stream(r["nodePrivateKeyStream"]).scalar(N256, True)
    node_pub = point(ec.SECP256R1(), node_d, False)
    assert r["nodePrivateKey"] == "%064x" % node_d and r["nodePublicKey"] == node_pub.hex()
    request = bytes.fromhex(r["requestId"])
    assert request == hashlib.sha256((seed + "/request").encode()).digest()
    got = {}
    for o in r["envelopes"]:
        i = o["index"]
        rs = Stream(o["stream"])
        e = rs.scalar(N256, True)
        enc = bytes([1, i]) + values[i].to_bytes(32, "big")
        check_envelope(o, e, node_pub, 2, g, cdigest, request, enc)
        env = bytes.fromhex(o["envelope"])
        key = aes_key(node_d, env[1:66], env[1:66], node_pub)
        plain = AESGCM(key).decrypt(env[66:78], env[78:], aad(2, g, i, cdigest, request, node_pub, env[1:66]))
        got[i] = int.from_bytes(plain[2:], "big")
    secret = 0
    for i, y in got.items():
        num, den = 1, 1
        for j in got:
            if j != i:
                num, den = num * j % N, den * (j - i) % N
        secret = (secret + y * num * pow(den, -1, N)) % N
    assert secret == s, "Lagrange interpolation of the recovered shares"
    print("root-custody vectors OK: %d shares, %d-of-%d, recovery from %s" % (len(values), t, len(values), sorted(got)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/root-custody-vectors.json")
