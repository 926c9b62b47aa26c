# Independent reproduction of docs/key-derivation.md §10 from the document (python cryptography).
# Usage: python3 key-derivation/src/test/python/check_ca_certificates.py docs/key-derivation-vectors.json
# Prints the SHA-256 of the KMS CA and app CA certificates of the §10 test vector (cryptography >= 44).
import hashlib, hmac, json, struct, datetime, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
def F(b): return struct.pack(">H", len(b)) + b
def hkdf(ikm, info, L):
    prk = hmac.new(b"tee-kms/v1", ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < L:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest(); out += t; i += 1
    return out[:L]
def ctx(g, purpose, alg, app=b"", v=0):
    return F(b"tee-kms/v1")+F(struct.pack(">I",g))+F(purpose.encode())+F(alg.encode())+F(app)+F(struct.pack(">I",v))+F(b"")+F(b"")
root = bytes(range(32)); g = 1
vec = json.load(open(sys.argv[1]))
addr = [k["address"] for k in vec["kmsRootKeys"] if k["generation"] == g][0]
def p256(info, ikm):
    d = int.from_bytes(hkdf(ikm, info, 48), "big") % (N - 1) + 1
    return ec.derive_private_key(d, ec.SECP256R1())
kmsca = p256(ctx(g, "kms-ca", "p256"), root)
app = bytes.fromhex("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")
A = hkdf(root, ctx(g, "app-root", "raw-256", app, 1), 32)
appca = p256(ctx(g, "tls-ca", "p256", app, 1), root)
def bits(k): return k.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
def serial(k):
    h = bytearray(hashlib.sha256(bits(k)).digest()[:16]); h[0] &= 0x7f; h[15] |= 1; return int.from_bytes(h, "big")
def cert(subject, issuer, key, signer, path):
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
         .serial_number(serial(key)).not_valid_before(datetime.datetime(2025,1,1,tzinfo=datetime.timezone.utc))
         .not_valid_after(datetime.datetime(9999,12,31,23,59,59,tzinfo=datetime.timezone.utc))
         .add_extension(x509.BasicConstraints(ca=True, path_length=path), critical=True)
         .add_extension(x509.KeyUsage(False,False,False,False,False,True,True,False,False), critical=True)
         .add_extension(x509.SubjectKeyIdentifier(hashlib.sha1(bits(key)).digest()), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier(hashlib.sha1(bits(signer)).digest(), None, None), critical=False))
    return b.sign(signer, hashes.SHA256(), ecdsa_deterministic=True).public_bytes(serialization.Encoding.DER)
kname = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, addr), x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "generation 1"), x509.NameAttribute(NameOID.COMMON_NAME, "tee-kms KMS CA")])
aname = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "0x"+app.hex()), x509.NameAttribute(NameOID.COMMON_NAME, "tee-kms app CA v1")])
print(hashlib.sha256(cert(kname, kname, kmsca, kmsca, 1)).hexdigest())
print(hashlib.sha256(cert(aname, kname, appca, kmsca, 0)).hexdigest())
