#!/usr/bin/env python3
"""Collect NVIDIA GPU attestation evidence through NVML, for tee-kms's CommandGpuEvidenceProvider.

Usage: nvml_gpu_evidence.py NONCE_HEX            (or set TEEKMS_GPU_NONCE)

Requires the NVIDIA driver (r535+, GPUs in confidential-computing mode) and nvidia-ml-py (`pip install nvidia-ml-py`,
12.535+), inside the CVM. For every GPU it calls
  nvmlDeviceGetConfComputeGpuAttestationReport(handle, nonce) -> SPDM GET_MEASUREMENTS request || response
  nvmlDeviceGetConfComputeGpuCertificate(handle)               -> attestation-key certificate chain (PEM, leaf first)
and prints one JSON object: {"architecture": "HOPPER", "gpus": [{"report": hex, "certChain": pem}, ...]}.
Exit status is non-zero (with a message on stderr) on any failure; nothing is printed on stdout then.
"""
import json
import os
import sys


def main() -> int:
    nonce_hex = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TEEKMS_GPU_NONCE", "")
    try:
        nonce = bytes.fromhex(nonce_hex)
    except ValueError:
        nonce = b""
    if len(nonce) != 32:
        print("nonce must be 32 bytes of hex", file=sys.stderr)
        return 2
    import pynvml  # nvidia-ml-py

    pynvml.nvmlInit()
    try:
        gpus = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            arch = pynvml.nvmlDeviceGetArchitecture(handle)
            if arch != pynvml.NVML_DEVICE_ARCH_HOPPER:
                print(f"GPU {i}: architecture {arch} is not Hopper", file=sys.stderr)
                return 1
            report = pynvml.nvmlDeviceGetConfComputeGpuAttestationReport(handle, nonce)
            raw = bytes(report.attestationReport[: report.attestationReportSize])
            certs = pynvml.nvmlDeviceGetConfComputeGpuCertificate(handle)
            pem = bytes(certs.attestationCertChain[: certs.attestationCertChainSize]).decode("ascii")
            gpus.append({"report": raw.hex(), "certChain": pem})
        if not gpus:
            print("no GPUs found", file=sys.stderr)
            return 1
        json.dump({"architecture": "HOPPER", "gpus": gpus}, sys.stdout)
        return 0
    finally:
        pynvml.nvmlShutdown()


if __name__ == "__main__":
    sys.exit(main())
