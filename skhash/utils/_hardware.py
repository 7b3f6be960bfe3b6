"""What the machine computes natively: whether bfloat16 pays on a device."""

import torch

#: CPU features with which bfloat16 products run natively (x86: AVX-512 BF16, AMX).
_CPU_BFLOAT16_FEATURES = ("avx512_bf16", "amx_bf16")


def cpu_features():
    """The CPU features torch detected, as a dict of name -> bool (empty if unknown).

    Read from torch's own CPU detection (cpuinfo), which is a private interface: a torch
    without it gives an empty dict, and callers then know nothing rather than guess.
    """
    try:
        features = torch._C._cpu._get_cpu_capability()
    except (AttributeError, RuntimeError):  # pragma: no cover - depends on torch's build
        return {}
    return features if isinstance(features, dict) else {}


def native_bfloat16(device):
    """Whether ``device`` multiplies bfloat16 natively: True, False, or None if unknown.

    A CUDA device: :func:`torch.cuda.is_bf16_supported`. The CPU: whether it has AVX-512
    BF16 or AMX-BF16; without them torch emulates bfloat16 products, far slower than
    float32 ones (on an AVX2-only AMD EPYC, 2026-12-06: 512 x 512 products at 1.3 GFLOP/s,
    2048 x 2048 float32 ones at 114-177). Other CPUs (ARM, say) are not known to torch's
    detection: None.

    Examples
    --------
    >>> import torch
    >>> from skhash.utils._hardware import native_bfloat16
    >>> native_bfloat16(torch.device("cpu")) in (True, False, None)
    True
    """
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    features = cpu_features()
    if not features.get("architecture", "").startswith("x86"):
        return None
    return any(features.get(name, False) for name in _CPU_BFLOAT16_FEATURES)
