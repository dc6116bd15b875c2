"""Checkpoints of a synthetic-set optimisation, so an interrupted condensation resumes exactly."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from .files import atomic_write


def save_checkpoint(path: str | os.PathLike, config: dict, images: torch.Tensor,
                    optimizer: torch.optim.Optimizer, generator: torch.Generator, iteration: int) -> None:
    """Save the images, optimiser state, RNG state and iteration count (atomically)."""
    state = {"config": config, "images": images.detach().cpu(), "optimizer": optimizer.state_dict(),
             "generator": generator.get_state(), "iteration": iteration}
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def resume_checkpoint(path: str | os.PathLike | None, config: dict, images: torch.Tensor,
                      optimizer: torch.optim.Optimizer, generator: torch.Generator) -> int:
    """Restore state saved by ``save_checkpoint`` if ``path`` holds one for the same ``config``.

    Returns the iteration to continue from (0 if there is nothing to resume).
    """
    if path is None or not Path(path).is_file():
        return 0
    try:
        state = torch.load(path, map_location=images.device, weights_only=False)
        ok = isinstance(state, dict) and {"config", "images", "optimizer", "generator", "iteration"} <= state.keys()
    except Exception as error:  # truncated or garbage: torch raises OSError, RuntimeError, EOFError, ...
        ok, state = False, error
    if not ok:
        # A checkpoint is only a cache: restarting costs time, stopping every rerun costs the run.
        warnings.warn(f"Checkpoint {path} is unreadable ({state if isinstance(state, Exception) else 'not a checkpoint'}); "
                      f"starting from iteration 0 (it will be overwritten).", RuntimeWarning, stacklevel=2)
        return 0
    if state["config"] != config:
        return 0
    with torch.no_grad():
        images.copy_(state["images"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"])
    return int(state["iteration"])


def diverged_hint(path: str | os.PathLike | None) -> str:
    """The end of a NaN/inf error: which checkpoint to delete, when one exists.

    Checkpoints are saved only after the finiteness check, so the file holds a finite state; but a
    rerun resumes from it with the same seed and settings and diverges again, until it is deleted
    or the settings (e.g. the learning rate) change.
    """
    if path is None or not Path(path).is_file():
        return ""
    return (f" A rerun with the same settings resumes from the checkpoint {path} and diverges again: "
            f"delete it (rm {path}) to start afresh, or change the learning rate.")


@dataclass(frozen=True)
class Checkpointing:
    """Where and how often a condensation saves its state, so that a rerun resumes it.

    ``path``: the checkpoint file (``.ckpt``); ``every``: outer iterations between saves;
    ``keep``: leave the file after the last iteration (the caller deletes it once it has saved
    the set, so an interruption between the two loses nothing).
    """

    path: Path
    every: int = 100
    keep: bool = False

    @classmethod
    def of(cls, value: "Checkpointing | str | os.PathLike | None", every: int = 100) -> "Checkpointing | None":
        """``value`` as a Checkpointing: a path becomes one with ``every``; None stays None."""
        if value is None or isinstance(value, Checkpointing):
            return value
        return cls(Path(value), every)
