"""A synthetic (or selected) training set as a saved artefact.

A saved set is a plain ``torch.save`` dict of tensors, strings and numbers, so it loads
with ``torch.load(weights_only=True)`` (no code runs when it is opened). It describes
itself: images, labels, class names, normalisation, the config that made it, seed,
iteration and library version.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .. import __version__
from .checks import set_problems
from .files import atomic_write


class SetFileError(ValueError):
    """A set file that cannot be used: unreadable, truncated, not a set, or for other data."""


_REQUIRED = ("images", "labels", "dataset", "method", "ipc", "mean", "std")


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
        class_names: names of the classes, label order (() for sets saved before they were kept).
        dc_lib_version: the library version that made the set.
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
    class_names: tuple[str, ...] = ()
    dc_lib_version: str = __version__

    @property
    def num_classes(self) -> int:
        return int(self.labels.numel()) // max(int(self.ipc), 1)

    def save(self, path: str | os.PathLike) -> Path:
        """Write atomically with ``torch.save`` (tensors moved to CPU)."""
        state = asdict(self)
        state["images"] = self.images.detach().cpu().clone()
        state["labels"] = self.labels.detach().cpu().clone()
        return atomic_write(path, lambda tmp: torch.save(state, tmp))

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu") -> "SyntheticSet":
        """Read a set saved by :meth:`save` (safely: ``weights_only=True``).

        Raises:
            SetFileError: the file is missing, empty, truncated or corrupted, or holds
                something else (a checkpoint, say); the message names the file and what to do.
        """
        path = Path(path)
        if not path.is_file():
            raise SetFileError(f"{path}: no such set file")
        try:
            state = torch.load(path, map_location=device, weights_only=True)
        except Exception as err:  # torch raises many kinds for a damaged file
            raise SetFileError(f"{path}: not a readable set file ({type(err).__name__}: "
                               f"{str(err).splitlines()[0] if str(err) else 'empty or truncated'}); "
                               "delete it and rerun to make it again") from None
        missing = [k for k in _REQUIRED if not isinstance(state, dict) or k not in state]
        if missing:
            kind = "a condensation checkpoint" if isinstance(state, dict) and "optimizer" in state else "not a set"
            raise SetFileError(f"{path}: {kind} (missing {', '.join(missing)}); "
                               "load a set file written by SyntheticSet.save")
        known = {f for f in cls.__dataclass_fields__}
        state = {k: v for k, v in state.items() if k in known}
        state["mean"], state["std"] = tuple(state["mean"]), tuple(state["std"])
        state["class_names"] = tuple(state.get("class_names", ()))
        return cls(**state)

    def check_matches(self, real, *, ipc: int | None = None, method: str | None = None,
                      where: str = "set") -> None:
        """Raise SetFileError unless this set fits ``real`` (a RealData): same dataset name,
        image shape, number of classes and class names, labels in range; and ``ipc`` /
        ``method`` when given. ``where`` names the set in the message (e.g. its path)."""
        info = real.info
        problems = []
        if self.dataset != info.name:
            problems.append(f"dataset {self.dataset!r}, not {info.name!r}")
        problems += set_problems(self.images, self.labels, info.channel, info.im_size, info.num_classes)
        if self.class_names and tuple(self.class_names) != info.class_names():
            problems.append(f"classes {list(self.class_names)[:5]}..., not {list(info.class_names())[:5]}...")
        if ipc is not None and int(self.ipc) != int(ipc):
            problems.append(f"ipc {self.ipc}, not {ipc}")
        if method is not None and self.method != method:
            problems.append(f"method {self.method!r}, not {method!r}")
        if problems:
            raise SetFileError(f"{where} does not belong to this data: " + "; ".join(problems))

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
