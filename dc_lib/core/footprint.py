"""What a computation costs: wall time and the memory that backpropagation holds.

Table A.T11 compares the memory and time of DC and DD. The thesis measures GPU memory on a
GTX 1080-Ti; on a CPU (or any device) the part of memory that separates the two methods is what
autograd keeps for the backward pass -- DD holds the graph of every unrolled inner step, DC only
that of one matching step. :class:`Footprint` counts that exactly and device-independently: the
peak, over the computation, of the bytes of the tensors autograd has saved for backward and not yet
released (each storage counted once). On CUDA it also records ``torch.cuda.max_memory_allocated``.
"""

from __future__ import annotations

import time
import weakref

import torch


class _Saved:
    """A tensor autograd saved for backward; its storage is released from the count with this holder."""

    __slots__ = ("tensor", "__weakref__")

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor


class Footprint:
    """A context manager: ``seconds`` (wall time), ``peak_saved_bytes`` (peak bytes of live tensors
    saved for backward, storages counted once) and ``cuda_peak_bytes`` (None off CUDA).

    Example::

        with Footprint(device) as cost:
            loss = f(x); loss.backward()
        cost.seconds, cost.peak_saved_bytes
    """

    def __init__(self, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.seconds = 0.0
        self.peak_saved_bytes = 0
        self.cuda_peak_bytes: int | None = None
        self._live: dict[int, list[int]] = {}  # storage pointer -> [holders alive, bytes]
        self._bytes = 0

    def _pack(self, tensor: torch.Tensor) -> _Saved:
        holder = _Saved(tensor)
        storage = tensor.untyped_storage()
        key = storage.data_ptr()
        if key in self._live:
            self._live[key][0] += 1
        else:
            self._live[key] = [1, storage.nbytes()]
            self._bytes += storage.nbytes()
            self.peak_saved_bytes = max(self.peak_saved_bytes, self._bytes)
        weakref.finalize(holder, self._release, key)
        return holder

    def _release(self, key: int) -> None:
        entry = self._live.get(key)
        if entry is None:
            return
        entry[0] -= 1
        if entry[0] == 0:
            self._bytes -= entry[1]
            del self._live[key]

    @staticmethod
    def _unpack(holder: _Saved) -> torch.Tensor:
        return holder.tensor

    def __enter__(self) -> "Footprint":
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)
        self._hooks.__enter__()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.cuda_peak_bytes = int(torch.cuda.max_memory_allocated(self.device))
        self.seconds = time.perf_counter() - self._start
        self._hooks.__exit__(*exc)
