"""A synthetic (or selected) training set as a saved artefact."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .files import atomic_write


@dataclass
class SyntheticSet:
    """A small labelled training set and everything needed to trust and reuse it.

    Attributes:
        images: float32 ``(num_classes * ipc, C, H, W)`` in the dataset's
            *normalised* space, ordered class by class.
        labels: int64 ``(num_classes * ipc,)``, fixed and balanced (never learned).
        dataset, method, ipc: what it is (method: ``dm``, ``random``, ``mmd`` ...).
        mean, std: the per-channel normalisation, to map back to pixels.
        config: every setting that produced it (architecture, lr, iterations ...).
        seed: the seed of the run.
        iteration: condensation iterations done (0 for selection methods).
        metrics: e.g. final matching loss, seconds taken.
    """

    images: torch.Tensor
    labels: torch.Tensor
    dataset: str
    method: str
    ipc: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    config: dict = field(default_factory=dict)
    seed: int = 0
    iteration: int = 0
    metrics: dict = field(default_factory=dict)

    def save(self, path: str | os.PathLike) -> Path:
        """Write atomically with ``torch.save`` (tensors moved to CPU)."""
        state = asdict(self)
        state["images"] = self.images.detach().cpu().clone()
        state["labels"] = self.labels.detach().cpu().clone()
        return atomic_write(path, lambda tmp: torch.save(state, tmp))

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu") -> "SyntheticSet":
        state = torch.load(path, map_location=device, weights_only=False)
        state["mean"], state["std"] = tuple(state["mean"]), tuple(state["std"])
        return cls(**state)

    def to_image_space(self) -> torch.Tensor:
        """Images in [0, 1] pixel space, ``(N, C, H, W)`` on the CPU (clipped for display)."""
        mean = torch.tensor(self.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.std).view(1, -1, 1, 1)
        return (self.images.detach().cpu().float() * std + mean).clamp_(0, 1)

    def grid(self, max_per_class: int = 10) -> torch.Tensor:
        """A ``(C, H', W')`` grid: one row per class, up to ``max_per_class`` images each."""
        from torchvision.utils import make_grid

        k = min(self.ipc, max_per_class)
        x = self.to_image_space()
        num_classes = x.shape[0] // self.ipc
        x = x.view(num_classes, self.ipc, *x.shape[1:])[:, :k].reshape(-1, *x.shape[1:])
        return make_grid(x, nrow=k, padding=1, pad_value=1.0)

    def save_png(self, path: str | os.PathLike, max_per_class: int = 10) -> Path:
        """Render the grid (image space, rows = classes) to a PNG."""
        from torchvision.utils import save_image

        return atomic_write(path, lambda tmp: save_image(self.grid(max_per_class), tmp, format="png"))
