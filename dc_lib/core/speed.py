"""Speed-only switches: how fast a condensation or an evaluation runs, never what it computes.

Every switch here gives the plain path's numbers up to float rounding (each fast path is tested
against the plain one), so none of them is a hyperparameter: they are not in a method's config,
not in a saved set's config and not in a result row's budget. What changes results lives in the
method configs (:class:`~dc_lib.methods.distribution_matching.DMConfig`,
:class:`~dc_lib.methods.gradient_matching.GMConfig`,
:class:`~dc_lib.engines.evaluation.EvalConfig`).
"""

from __future__ import annotations

from dataclasses import dataclass

ENGINES = ("auto", "loop", "stacked", "side_by_side")
REDUCE_OVERHEAD = "reduce-overhead"


def check_compile(enabled) -> None:
    """Raise ``ValueError`` unless ``enabled`` is True, False or ``"reduce-overhead"`` (a ``compile`` switch)."""
    if not (isinstance(enabled, bool) or enabled == REDUCE_OVERHEAD):
        raise ValueError(f"compile must be True, False or {REDUCE_OVERHEAD!r}, got {enabled!r}")


@dataclass(frozen=True)
class Speed:
    """Switches that trade nothing but time.

    Attributes:
        engine: how an evaluation trains its networks: ``loop`` (the reference, one after another),
            ``stacked`` (one stacked model; CUDA), ``side_by_side`` (networks on the CPU cores) or
            ``auto`` (the path measured fastest for the device and set, ``engines.choose``).
        compile: run networks through ``torch.compile`` (:mod:`dc_lib.engines.compiled`): False, True,
            or ``"reduce-overhead"`` (True plus CUDA graphs on a GPU; DM then keeps one network and
            writes each iteration's fresh weights into it).
        real_chunk: condensation: real images per forward when embedding or differentiating a
            class's real batch; None: the whole batch; ``all``: DM embeds the batches of all classes
            together (DC/DSA: as None, their gradients are per class); ``auto``: 32 on CPU
            (cache-sized), elsewhere ``all`` for DM and None for DC/DSA.
        micro_batch: images per forward/backward when a network trains on S inside DC/DSA;
            ``auto``: 16 on CPU for networks without BatchNorm, else None.
    """

    engine: str = "auto"
    compile: bool | str = False
    real_chunk: int | None | str = "auto"
    micro_batch: int | None | str = "auto"

    def __post_init__(self):
        check_compile(self.compile)
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}; valid: {', '.join(ENGINES)}")
        for name in ("real_chunk", "micro_batch"):
            value = getattr(self, name)
            named = ("auto", "all") if name == "real_chunk" else ("auto",)
            if value is not None and value not in named and (isinstance(value, bool) or not isinstance(value, int)
                                                             or value < 1):
                raise ValueError(f"{name} must be a positive int, None or {' or '.join(map(repr, named))}, "
                                 f"got {value!r}")


PLAIN = Speed(engine="loop", real_chunk=None, micro_batch=None)
"""The reference paths everywhere (what the fast paths are tested against)."""
