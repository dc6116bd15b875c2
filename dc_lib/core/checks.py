"""Argument checks shared by the public entry points (condense_dm, condense_gm, evaluate_set, the baselines).

A bad count (``ipc=1.5``, ``batch_real=0``, ``num_nets=0``) would otherwise surface deep inside torch as
an unrelated error, or worse, pass silently (``ipc=0`` gives an empty set, ``epochs=-1`` trains nothing
yet reports an accuracy). Checking once at the boundary gives one message that names the argument,
the value and what is allowed.
"""

from __future__ import annotations

import numbers

import torch


def whole_number(name: str, value, minimum: int) -> int:
    """``value`` as an int if it is a whole number >= ``minimum``, else ValueError naming ``name``.

    ``bool`` is refused although it is an int subclass: ``ipc=True`` is a slip, not 1.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def positive_int(name: str, value) -> int:
    """A count that must be at least 1 (ipc, batch sizes, networks)."""
    return whole_number(name, value, 1)


def non_negative_int(name: str, value) -> int:
    """A count where 0 means "none" (iterations: 0 returns the initial set)."""
    return whole_number(name, value, 0)


def condensation_args(*, ipc, iterations, batch_real, checkpoint_every) -> None:
    """The counts every condensation takes (DM and gradient matching alike)."""
    positive_int("ipc", ipc)
    non_negative_int("iterations", iterations)
    positive_int("batch_real", batch_real)
    positive_int("checkpoint_every", checkpoint_every)


def set_problems(images, labels, channel: int, im_size, num_classes: int) -> list[str]:
    """What makes ``images (N, C, H, W)`` / ``labels (N,)`` unfit for a dataset of that shape and classes.

    Shared by ``SyntheticSet.check_matches`` (a set file reused) and ``evaluate_set`` (tensors
    scored): a wrong shape or an out-of-range label would otherwise score silently or end in a
    raw ``IndexError``. An empty list means the set fits.
    """
    problems = []
    shape, expected = tuple(images.shape[1:]), (channel, *tuple(im_size))
    if images.ndim != 4 or shape != expected:
        problems.append(f"images of shape {tuple(images.shape)}, not (N, {', '.join(map(str, expected))})")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        problems.append(f"labels of shape {tuple(labels.shape)} for {images.shape[0]} images")
    elif labels.dtype.is_floating_point or labels.dtype == torch.bool:
        problems.append(f"labels of dtype {labels.dtype}, not integer class indices")
    elif labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        problems.append(f"labels {int(labels.min())}..{int(labels.max())} outside 0..{num_classes - 1}")
    return problems
