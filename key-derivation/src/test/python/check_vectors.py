#!/usr/bin/env python3
"""Independent re-implementation of docs/key-derivation.md, checked against docs/key-derivation-vectors.json.

Written from the spec only (no code shared with the Java module), using Python's `cryptography` package for HKDF,
the curves and ECDSA verification, and a small pure-Python Keccak-256 (Ethereum's, not SHA3-256).
Run: python3 key-derivation/src/test/python/check_vectors.py [docs/key-derivation-vectors.json]
"""
import json
import struct
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

N = {"secp256k1": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
     "p256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551}
CURVE = {"secp256k1": ec.SECP256K1(), "p256": ec.SECP256R1()}
OKM_LEN = {"secp256k1": 48, "p256": 48, "ed25519": 32, "x25519": 32, "raw-256": 32}


def keccak256(data: bytes) -> bytes:
    rc = [0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000, 0x000000000000808B,
          0x0000000080000001, 0x8000000080008081, 0x8000000000008009, 0x000000000000008A, 0x0000000000000088,
          0x0000000080008009, 0x000000008000000A, 0x000000008000808B, 0x800000000000008B, 0x8000000000008089,
          0x8000000000008003, 0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
          0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008]
    rot = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56], [27, 20, 39, 8, 14]]
    mask = (1 << 64) - 1
    rate = 136
    msg = bytearray(data) + b"\x01"  # original Keccak padding (SHA3 uses 0x06)
    while len(msg) % rate:
        msg.append(0)
    msg[-1] |= 0x80
    s = [[0] * 5 for _ in range(5)]
    for off in range(0, len(msg), rate):
        for i in range(rate // 8):
            s[i % 5][i // 5] ^= int.from_bytes(msg[off + 8 * i: off + 8 * i + 8], "little")
        for r in range(24):
            c = [s[x][0] ^ s[x][1] ^ s[x][2] ^ s[x][3] ^ s[x][4] for x in range(5)]
            d = [c[(x - 1) % 5] ^ (((c[(x + 1) % 5] << 1) | (c[(x + 1) % 5] >> 63)) & mask) for x in range(5)]
            s = [[s[x][y] ^ d[x] for y in range(5)] for x in range(5)]
            b = [[0] * 5 for _ in range(5)]
            for x in range(5):
                for y in range(5):
                    v, n = s[x][y], rot[x][y]
                    b[y][(2 * x + 3 * y) % 5] = ((v << n) | (v >> (64 - n))) & mask if n else v
            s = [[b[x][y] ^ ((~b[(x + 1) % 5][y]) & b[(x + 2) % 5][y]) for y in range(5)] for x in range(5)]
            s[0][0] ^= rc[r]
    return b"".join(s[i % 5][i // 5].to_bytes(8, "little") for i in range(4))


def F(b: bytes) -> bytes:
    return struct.pack(">H", len(b)) + b


def context(v) -> bytes:
    return (F(b"tee-kms/v1") + F(struct.pack(">I", v["generation"])) + F(v["purpose"].encode())
            + F(v["algorithm"].encode()) + F(bytes.fromhex(v["appId"])) + F(struct.pack(">I", v["version"]))
            + F(v["path"].encode("utf-8")) + F(bytes.fromhex(v["instanceId"])))


def hkdf(ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=b"tee-kms/v1", info=info).derive(ikm)


def derive(ikm: bytes, v):
    alg = v["algorithm"]
    okm = hkdf(ikm, context(v), OKM_LEN[alg])
    out = {}
    if alg in N:
        d = int.from_bytes(okm, "big") % (N[alg] - 1) + 1
        out["privateKey"] = d.to_bytes(32, "big").hex()
        pub = ec.derive_private_key(d, CURVE[alg]).public_key()
        out["publicKey"] = pub.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint).hex()
        unc = pub.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        out["uncompressedPublicKey"] = unc.hex()
        if alg == "secp256k1":
            out["address"] = eip55(keccak256(unc[1:])[12:])
    elif alg == "ed25519":
        out["privateKey"] = okm.hex()
        out["publicKey"] = ed25519.Ed25519PrivateKey.from_private_bytes(okm).public_key().public_bytes_raw().hex()
    elif alg == "x25519":
        out["privateKey"] = okm.hex()
        out["publicKey"] = x25519.X25519PrivateKey.from_private_bytes(okm).public_key().public_bytes_raw().hex()
    else:
        out["privateKey"] = okm.hex()
        if v["purpose"] == "disk":
            out["luksPassphrase"] = okm.hex()
    return out


def eip55(addr: bytes) -> str:
    h = keccak256(addr.hex().encode()).hex()
    return "0x" + "".join(c.upper() if int(h[i], 16) >= 8 else c for i, c in enumerate(addr.hex()))


def check_sig(message: bytes, sig_hex: str, signer_pub_hex: str):
    sig = bytes.fromhex(sig_hex)
    r, s, v = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]
    assert v in (27, 28) and 0 < r < N["secp256k1"] and 0 < s <= N["secp256k1"] // 2, "non-canonical signature"
    pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), bytes.fromhex(signer_pub_hex))
    pub.verify(encode_dss_signature(r, s), keccak256(message), ec.ECDSA(Prehashed(hashes.SHA256())))
    # (v itself, the recovery id, is checked by the Java tests through ecrecover, web3j's included.)


def main(path):
    doc = json.load(open(path, encoding="utf-8"))
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    roots = {r["generation"]: bytes.fromhex(r["secret"]) for r in doc["roots"]}
    n = 0
    kms_pub = {}
    for v in doc["kmsRootKeys"]:
        assert context(v).hex() == v["context"]
        got = derive(roots[v["generation"]], v)
        for k, val in got.items():
            assert v[k] == val, (k, v)
        kms_pub[v["generation"]] = v["publicKey"]
        n += 1
    for v in doc["kmsCaKeys"]:
        assert v["purpose"] == "kms-ca" and v["algorithm"] == "p256" and v["appId"] == "" and v["version"] == 0
        assert context(v).hex() == v["context"]
        for k, val in derive(roots[v["generation"]], v).items():
            assert v[k] == val, (k, v)
        n += 1
    app = {}
    for a in doc["appRoots"]:
        ctx = {"generation": a["generation"], "purpose": "app-root", "algorithm": "raw-256", "appId": a["appId"],
               "version": a["version"], "path": "", "instanceId": ""}
        assert context(ctx).hex() == a["context"]
        secret = hkdf(roots[a["generation"]], context(ctx), 32)
        assert secret.hex() == a["secret"]
        sk = a["signingKey"]
        for k, val in derive(secret, sk).items():
            assert sk[k] == val, (k, sk)
        msg = (F(b"tee-kms/v1/app-root-key") + F(struct.pack(">I", a["generation"])) + F(bytes.fromhex(a["appId"]))
               + F(struct.pack(">I", a["version"])) + F(bytes.fromhex(sk["publicKey"])))
        assert msg.hex() == a["certificate"]["message"]
        check_sig(msg, a["certificate"]["kmsSignature"], kms_pub[a["generation"]])
        app[(a["generation"], a["appId"], a["version"])] = (secret, sk["publicKey"])
        n += 1
    for v in doc["keys"]:
        assert context(v).hex() == v["context"]
        secret, app_pub = app[(v["generation"], v["appId"], v["version"])]
        ikm = roots[v["generation"]] if v["tier"] == "kms" else secret
        for k, val in derive(ikm, v).items():
            assert v[k] == val, (k, v)
        if "certificate" in v:
            msg = (F(b"tee-kms/v1/purpose-key") + F(struct.pack(">I", v["generation"])) + F(bytes.fromhex(v["appId"]))
                   + F(struct.pack(">I", v["version"])) + F(v["purpose"].encode()) + F(v["algorithm"].encode())
                   + F(v["path"].encode("utf-8")) + F(bytes.fromhex(v["instanceId"])) + F(bytes.fromhex(v["publicKey"])))
            assert msg.hex() == v["certificate"]["message"]
            check_sig(msg, v["certificate"]["appRootSignature"], app_pub)
        n += 1
    print(f"ok: {n} vectors reproduced independently")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/key-derivation-vectors.json")
