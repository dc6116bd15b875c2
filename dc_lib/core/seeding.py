"""Seeds, generators and devices: one place that makes runs repeat exactly.

Every random draw in dc_lib comes from a ``torch.Generator`` seeded from the
run's seed (never from the wall clock). Network initialisation uses torch's
global RNG, so it is re-seeded from a derived seed right before each network
is built.
"""

from __future__ import annotations

import hashlib
import random

import numpy as np
import torch


def derive_seed(seed: int, *keys: object) -> int:
    """A stable 31-bit seed for a sub-task, e.g. ``derive_seed(0, "mnist", 10, "net", 3)``.

    Stable across processes and Python versions (unlike ``hash``), so a resumed
    run gives each set and network the seed it would have had.
    """
    text = repr((int(seed),) + tuple(str(k) for k in keys)).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:4], "little") & 0x7FFFFFFF


def make_generator(seed: int) -> torch.Generator:
    """A CPU generator for parameters, permutations and augmentation draws."""
    return torch.Generator().manual_seed(int(seed))


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch's global RNGs (used before building a network)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"``/None -> CUDA when available else CPU; anything else is checked and returned."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' was asked for but torch sees no CUDA GPU; use device='cpu' or 'auto'")
    return device
