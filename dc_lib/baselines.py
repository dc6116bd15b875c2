"""Coreset selection baselines (thesis section 2.1).

Random selection is here; herding, k-center and forgetting arrive with the
chapter 3/4 work. Every selector picks the same number of images per class.
"""

from __future__ import annotations

import torch

from .data import RealData, check_ipc
from .seeding import make_generator
from .synset import SyntheticSet


def select_random(real: RealData, ipc: int, seed: int = 0) -> SyntheticSet:
    """``ipc`` uniformly random real training images per class, as a SyntheticSet.

    Raises ValueError if a class has fewer than ``ipc`` images.
    """
    check_ipc(real, ipc)
    info, gen = real.info, make_generator(seed)
    images = torch.cat([real.sample_class(c, ipc, gen) for c in range(info.num_classes)])
    labels = torch.arange(info.num_classes).repeat_interleave(ipc).to(real.device)
    return SyntheticSet(images, labels, info.name, "random", ipc, info.mean, info.std,
                        config={"algorithm": "random", "dataset": info.name, "ipc": ipc, "seed": seed},
                        seed=seed)
