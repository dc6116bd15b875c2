"""Host-to-device copies of the hot loops' random draws that do not stall the host.

Every draw of a hot loop (which real images, which augmentation and its parameters, a fresh network's
initial weights) comes from a CPU generator, so that one seed gives the same numbers on every device.
A plain ``tensor.to("cuda")`` of such a draw is a blocking copy: the host waits for the GPU to finish all
the work queued before it, and cannot queue the next step while the GPU runs this one (a DM iteration
made one such wait per weight tensor of its fresh network and two per class). Copied from pinned (page-locked) memory with
``non_blocking=True`` the host goes on at once; the values copied are the same, so nothing else
changes. On CPU these are plain ``.to`` calls.
"""

from __future__ import annotations

import torch
import torch.nn as nn


def to_device(t: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """``t`` on ``device``: a non-blocking copy from pinned memory for a CPU tensor going to CUDA, else ``t.to(device)``."""
    device = torch.device(device)
    if device.type != "cuda" or t.device.type != "cpu":
        return t.to(device)
    # PyTorch's pinned-memory cache keeps the staging block until the copy has run, so the temporary is safe.
    return t.pin_memory().to(device, non_blocking=True)


def copy_into(dst: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
    """``dst.copy_(src)`` in place (``dst`` keeps its address); from a CPU tensor to CUDA a non-blocking
    copy from pinned memory, with no temporary on the device."""
    if dst.device.type == "cuda" and src.device.type == "cpu":
        return dst.copy_(src.pin_memory(), non_blocking=True)
    return dst.copy_(src)


def module_to_device(net: nn.Module, device: torch.device | str) -> nn.Module:
    """``net.to(device)`` whose parameter and buffer copies do not stall the host (:func:`to_device`)."""
    if torch.device(device).type != "cuda":
        return net.to(device)
    return net._apply(lambda t: to_device(t, device))  # what Module.to does, with this copy
