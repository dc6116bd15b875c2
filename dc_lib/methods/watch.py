"""Observers of a condensation run: callbacks that see the run without changing it.

A figure that needs the inside of a run (snapshots of S as it learns, Figures 4.6 and 5.4; the
network's gradients inside the loop, Figure 4.5) passes a :class:`Watch` instead of copying the
method's loop. A watcher must leave the run's tensors, networks and generators alone, so that a
watched run gives the same set as an unwatched one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Watch:
    """Observers of a condensation run (speed and numbers untouched: they must not change the run).

    Attributes:
        on_iteration: ``on_iteration(k, images)`` with a detached view of S ``(N, C, H, W)``: first
            with the starting k (0, or where a checkpoint resumes), then after every outer iteration
            k (DC/DSA) or iteration k (DM).
        on_match: ``on_match(k, t, net, images)``, just before the t-th match of outer iteration k
            (gradient matching only; DM has no inner loop and never calls it).
    """

    on_iteration: Callable | None = None
    on_match: Callable | None = None
