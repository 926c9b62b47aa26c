#!/usr/bin/env python3
"""Independent check of docs/os-image-measurement.md (written from the document, not from the Java code).

Recomputes every vector in docs/os-image-measurement-vectors.json and checks the two real dstack captures in
testdata/dstack/. Standard library only. Run: python3 ra-tls/src/test/python/check_os_image_vectors.py [--write]
"""
import base64
import hashlib
import json
import os
import struct
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
VECTORS = os.path.join(ROOT, "docs", "os-image-measurement-vectors.json")


def sha384(b):
    return hashlib.sha384(b).digest()


def replay(log):
    r = bytes(48)
    for d in log:
        r = sha384(r + d)
    return r


def leb(b, i):
    v, s = 0, 0
    while True:
        x = b[i]
        i += 1
        v |= (x & 0x7F) << s
        if not x & 0x80:
            return v, i
        s += 7


def td_hob(witness, mem):
    i = 0
    base, i = leb(witness, i)
    delta, i = leb(witness, i)
    n, i = leb(witness, i)
    ranges = [[False, 0, mem]]
    for _ in range(n):
        sd, i = leb(witness, i)
        pc, i = leb(witness, i)
        st = (base + sd) * 4096
        en = st + pc * 4096
        nxt = []
        for a, rs, re in ranges:
            if a or re <= st or rs >= en:
                nxt.append([a, rs, re])
            else:
                if rs < st:
                    nxt.append([False, rs, st])
                if re > en:
                    nxt.append([False, en, re])
        nxt.append([True, st, en])
        ranges = sorted(nxt, key=lambda r: r[1])
    assert i == len(witness)
    h = bytearray(struct.pack("<HHII I", 1, 56, 0, 9, 0)) + bytes(40)

    def res(t, s, l):
        h.extend(struct.pack("<HHI", 3, 48, 0) + bytes(16) + bytes([t, 0, 0, 0]) + struct.pack("<IQQ", 7, s, l))

    last = ranges.pop()
    for a, s, e in ranges:
        res(0 if a else 7, s, e - s)
    _, ls, le = last
    if mem >= 0xB0000000:
        if ls < 0x80000000:
            res(7, ls, 0x80000000 - ls)
        if le > 0x80000000:
            res(7, 0x100000000, le - 0x80000000)
    else:
        res(7, ls, le - ls)
    h[48:56] = struct.pack("<Q", (base + delta) * 4096 + len(h) + 8)
    return bytes(h)


def guid(g):
    out = b""
    for k, part in enumerate(g.split("-")):
        raw = bytes.fromhex(part)
        out += raw[::-1] if k <= 2 else raw
    return out


def efivar(g, name):
    return sha384(guid(g) + struct.pack("<QQ", len(name), 0) + name.encode("utf-16-le"))


GLOBAL = "8BE4DF61-93CA-11D2-AA0D-00E098032B8C"
SECDB = "D719B2CB-3D3A-4596-A3BC-DAD00E67656F"
CFV = bytes.fromhex("344bc51c980ba621aaa00da3ed7436f7d6e549197dfe699515dfa2c6583d95e6412af21c097d473155875ffd561d6790")
BOOT0000 = bytes.fromhex("23ada07f5261f12f34a0bd8e46760962d6b4d576a416f1fea1c64bc656b1d28eacf7047ae6e967c58fd2a98bfa74c298")


def measure(inp):
    mem = inp["memory_size"]
    assert mem == 0x80000000 or mem >= 0xB0000000
    qv = inp.get("qemu_version") or "9.1.0"
    major = int(qv.split(".")[0])
    two_pass = inp["qemu_single_pass_add_pages"] if inp.get("qemu_single_pass_add_pages") is not None else major == 8
    h = lambda k: bytes.fromhex(inp[k])
    hob = td_hob(h("td_hob_witness"), mem)
    r0 = [sha384(hob), CFV, efivar(GLOBAL, "SecureBoot"), efivar(GLOBAL, "PK"), efivar(GLOBAL, "KEK"),
          efivar(SECDB, "db"), efivar(SECDB, "dbx"), sha384(bytes(4)),
          h("acpi_loader"), h("acpi_rsdp"), h("acpi_tables"), sha384(bytes(2)), BOOT0000]
    r1 = [h("kernel_authenticode"), sha384(b"Calling EFI Application from Boot Option"), sha384(bytes(4)),
          sha384(b"Exit Boot Services Invocation"), sha384(b"Exit Boot Services Returned with Success")]
    r2 = [h("cmdline_sha384"), h("initrd_sha384")]
    return {
        "td_hob": hob.hex(), "td_hob_sha384": sha384(hob).hex(),
        "rtmr0_events": [d.hex() for d in r0],
        "mrtd": (h("mrtd_two_pass") if two_pass else h("mrtd_single_pass")).hex(),
        "rtmr0": replay(r0).hex(), "rtmr1": replay(r1).hex(), "rtmr2": replay(r2).hex(),
    }


def cbor(b, i=0):
    ib = b[i]
    mt, ai = ib >> 5, ib & 31
    i += 1
    if ai < 24:
        n = ai
    else:
        size = {24: 1, 25: 2, 26: 4, 27: 8}[ai]
        n = int.from_bytes(b[i:i + size], "big")
        i += size
    if mt == 0:
        return n, i
    if mt in (2, 3):
        v = b[i:i + n]
        return (v if mt == 2 else v.decode()), i + n
    if mt == 5:
        out = {}
        for _ in range(n):
            k, i = cbor(b, i)
            out[k], i = cbor(b, i)
        return out, i
    raise ValueError("unexpected CBOR major type %d" % mt)


def capture(path):
    d = json.load(open(os.path.join(ROOT, "testdata", path)))
    vm = json.loads(d["vm_config"]) if isinstance(d["vm_config"], str) else d["vm_config"]
    log = json.loads(d["event_log"]) if isinstance(d["event_log"], str) else d["event_log"]
    q = bytes.fromhex(d["quote"])
    regs = {"mrtd": q[184:232].hex()}
    for k in range(3):
        regs["rtmr%d" % k] = q[376 + 48 * k:424 + 48 * k].hex()
    acpi = [e for e in log if int(e["imr"]) == 0 and int(e["event_type"]) == 10
            and bytes.fromhex(e["event_payload"]) == b"ACPI DATA"]
    return vm, acpi, regs


def lite_inputs():
    vm, acpi, regs = capture("dstack/tdx-lite-getquote.json")
    tm = vm["tdx_measurement"]
    checksum = base64.b64decode(tm["checksum_file"])
    doc_bytes = base64.b64decode(tm["measurement"])
    assert hashlib.sha256(checksum).hexdigest() == vm["os_image_hash"]
    listed = [l.split() for l in checksum.decode().splitlines() if l.strip()]
    assert [x[0] for x in listed if x[1] == "measurement.tdx.cbor"] == [hashlib.sha256(doc_bytes).hexdigest()]
    doc, end = cbor(doc_bytes)
    assert end == len(doc_bytes) and doc["version"] == 3 and doc["tdvf"]["ovmf"] == "pre202505"
    by_name = {e["event"]: e["digest"] for e in acpi}
    inp = {
        "memory_size": vm["memory_size"], "qemu_version": vm.get("qemu_version"),
        "qemu_single_pass_add_pages": vm.get("qemu_single_pass_add_pages"),
        "td_hob_witness": doc["tdvf"]["td_hob"].hex(),
        "cmdline_sha384": doc["image"]["cmdline_sha384"].hex(),
        "kernel_authenticode": doc["image"]["kernel_authenticode"].hex(),
        "initrd_sha384": doc["image"]["initrd_sha384"].hex(),
        "mrtd_single_pass": doc["tdvf"]["mrtd"]["single_pass"].hex(),
        "mrtd_two_pass": doc["tdvf"]["mrtd"]["two_pass"].hex(),
        "acpi_loader": by_name["acpi-loader"], "acpi_rsdp": by_name["acpi-rsdp"], "acpi_tables": by_name["acpi-tables"],
    }
    return vm, inp, regs


def build_vectors():
    vm, lite, lite_regs = lite_inputs()
    legacy_vm, legacy_acpi, legacy_regs = capture("dstack/quote-report.json")
    legacy = dict(lite)
    legacy.update({"memory_size": legacy_vm["memory_size"], "qemu_version": legacy_vm["qemu_version"],
                   "qemu_single_pass_add_pages": legacy_vm["qemu_single_pass_add_pages"],
                   "acpi_loader": legacy_acpi[0]["digest"], "acpi_rsdp": legacy_acpi[1]["digest"],
                   "acpi_tables": legacy_acpi[2]["digest"]})
    synthetic = dict(lite)
    synthetic.update({"memory_size": 3 << 30, "qemu_version": "9.2.1", "qemu_single_pass_add_pages": None,
                      "acpi_loader": sha384(b"loader").hex(), "acpi_rsdp": sha384(b"rsdp").hex(),
                      "acpi_tables": sha384(b"tables").hex()})
    cases = [
        {"name": "dstack 0.6.0 lite capture (testdata/dstack/tdx-lite-getquote.json): all four = the quote's",
         "input": lite, "quote": lite_regs},
        {"name": "dstack 0.6.0 document in the 64 GiB VM of testdata/dstack/quote-report.json, its (unnamed, by "
                 "position) ACPI digests: RTMR0 and the TD HOB digest = that capture's (its MRTD/RTMR1/RTMR2 are "
                 "another image's)",
         "input": legacy, "quote": {"rtmr0": legacy_regs["rtmr0"]}},
        {"name": "synthetic: 3 GiB, QEMU 9.2.1 (single pass), ACPI digests SHA-384('loader'|'rsdp'|'tables')",
         "input": synthetic},
    ]
    for c in cases:
        c["output"] = measure(c["input"])
    return {"cmdline": {"input": "console=ttyS0 initrd=initrd",
                        "sha384_utf16le_nul": sha384("console=ttyS0 initrd=initrd".encode("utf-16-le") + b"\0\0").hex()},
            "cases": cases}


def main():
    vectors = build_vectors()
    for c in vectors["cases"]:
        for reg, value in c.get("quote", {}).items():
            assert c["output"][reg] == value, (c["name"], reg)
    if "--write" in sys.argv:
        with open(VECTORS, "w") as f:
            json.dump(vectors, f, indent=2)
            f.write("\n")
        print("wrote", VECTORS)
        return
    stored = json.load(open(VECTORS))
    assert stored == vectors, "docs/os-image-measurement-vectors.json differs from this independent computation"
    print("ok: %d cases, every register recomputed; real captures match their quotes" % len(vectors["cases"]))


if __name__ == "__main__":
    main()
