#!/usr/bin/env python3
"""Independent encoder of the /Attest blob (dstack's VersionedAttestation::V0, SCALE), written from
docs/guest-api.md: builds the documented vector and checks it against the hex in that document.
Run: python3 attest-eventlog/src/test/python/check_attestation_vector.py"""
import hashlib
import os
import re
import struct

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
DOC = os.path.join(ROOT, "docs", "guest-api.md")


def compact(n):
    if n < 1 << 6:
        return bytes([n << 2])
    if n < 1 << 14:
        return struct.pack("<H", (n << 2) | 1)
    if n < 1 << 30:
        return struct.pack("<I", (n << 2) | 2)
    raise ValueError("too long")


def vec(b):
    return compact(len(b)) + b


def runtime_digest(name, payload):
    # dstack: sha384(event_type as u32 LE || ":" || name || ":" || payload)
    return hashlib.sha384(struct.pack("<I", 0x08000001) + b":" + name.encode() + b":" + payload).digest()


def tdx_event(imr, event_type, digest, name, payload):
    return struct.pack("<II", imr, event_type) + vec(digest) + vec(name.encode()) + vec(payload)


def vector():
    quote = bytes.fromhex("0400020081000000")
    app_id = bytes([0x22] * 20)
    events = [
        tdx_event(0, 0x80000001, bytes([0x11] * 48), "", b""),
        tdx_event(3, 0x08000001, runtime_digest("app-id", app_id), "app-id", app_id),
    ]
    runtime = [vec(b"app-id") + vec(app_id)]
    report_data = bytes(range(64))
    config = b'{"os_image_hash":""}'
    return (b"\x00" + b"\x00" + vec(quote) + compact(len(events)) + b"".join(events)
            + compact(len(runtime)) + b"".join(runtime) + report_data + vec(config))


def main():
    doc = open(DOC, encoding="utf-8").read()
    m = re.search(r"<!-- attest-vector -->\s*```\s*([0-9a-f\s]+)```", doc)
    assert m, "no attest vector in docs/guest-api.md"
    stored = "".join(m.group(1).split())
    computed = vector().hex()
    assert stored == computed, "docs/guest-api.md vector differs:\n" + computed
    print("attest vector ok (%d bytes)" % (len(computed) // 2))


if __name__ == "__main__":
    if os.environ.get("PRINT"):
        print(vector().hex())
    else:
        main()
