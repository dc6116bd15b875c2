"""Differentiable Siamese augmentation (DSA, thesis chapter 4).

A *strategy* is a string of op names joined by ``_``, e.g.
``color_crop_cutout_flip_scale_rotate``. Each call draws ONE op from the
strategy (the authors' ``aug_mode='S'``) and then its parameters.

Sampling and applying are separate steps, which is what makes augmentation
Siamese without seed tricks: draw ``params = sample_params(strategy, 1, gen)``
once and apply the very same ``params`` to the real and the synthetic batch
(a single parameter row broadcasts to every image). For ordinary augmentation
(training evaluation networks) draw ``n = batch size`` rows: one per image.

Parameters are stored as uniforms in [0, 1) drawn on the CPU from a
``torch.Generator`` -- never from the wall clock -- and turned into magnitudes
when applied, so the same draw fits any image size and a seeded run repeats.

Magnitudes are the authors' public-code defaults (the thesis gives none;
hyperparameters.md section 7): flip p=0.5; scale per axis U[1/1.2, 1.2];
rotate U[-15, 15] degrees; crop = translation by up to 12.5 % of the side with
zero fill; cutout = a square of half the side set to zero; color = brightness
+U[-0.5, 0.5], then saturation x U[0, 2], then contrast x U[0.5, 1.5].
All ops act on normalised images and are differentiable in the input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .transfer import to_device

OPS = ("color", "crop", "cutout", "flip", "scale", "rotate")
_NUM_UNIFORMS = {"color": 3, "crop": 2, "cutout": 2, "flip": 1, "scale": 2, "rotate": 1}

# Thesis-era torch (1.2) behaved as align_corners=True in affine_grid/grid_sample;
# torch >= 1.3 silently defaults to False. We pass True to match the thesis runs.
ALIGN_CORNERS = True

SCALE_RATIO = 1.2
ROTATE_DEGREES = 15.0
CROP_RATIO = 0.125
CUTOUT_RATIO = 0.5
FLIP_PROB = 0.5
BRIGHTNESS = 1.0
SATURATION = 2.0
CONTRAST = 0.5

# Chapter 3's classical MNIST augmentation for training evaluation networks on DC and coreset sets
# (authors' get_daparam: crop 4 px, scale +-0.2, rotate +-45 degrees, one op per image). Not differentiable
# Siamese augmentation: a separate strategy name, accepted wherever a strategy string is.
CLASSIC = "classic"
CLASSIC_CROP_PIXELS = 4
CLASSIC_SCALE = 0.2
CLASSIC_ROTATE_DEGREES = 45.0

DEFAULT_STRATEGY = "color_crop_cutout_flip_scale_rotate"
# Flipping changes a digit's meaning, so the thesis drops it for MNIST and SVHN.
NO_FLIP_STRATEGY = "color_crop_cutout_scale_rotate"


def default_strategy(dataset: str) -> str:
    """The thesis's DSA strategy for a dataset (no flip for digits)."""
    return NO_FLIP_STRATEGY if dataset in ("mnist", "svhn", "usps") else DEFAULT_STRATEGY


def parse_strategy(strategy: str | None) -> tuple[str, ...]:
    """Split and validate a strategy string; ``None``, ``""`` and ``"none"`` mean no augmentation."""
    if strategy is None or strategy.lower() in ("", "none"):
        return ()
    if strategy.lower() == CLASSIC:
        return (CLASSIC,)
    ops = tuple(strategy.lower().split("_"))
    bad = [op for op in ops if op not in OPS]
    if bad:
        raise ValueError(f"Unknown augmentation op(s) {bad} in strategy {strategy!r}. "
                         f"Valid ops: {', '.join(OPS)} (joined by '_'), or 'none'.")
    return ops


@dataclass(frozen=True)
class AugParams:
    """One sampled augmentation: the op and its uniforms, shape ``(n, k)``; n = 1 is shared."""

    op: str
    u: torch.Tensor


def sample_params(strategy: str | None, n: int, generator: torch.Generator) -> AugParams | None:
    """Draw one op of ``strategy`` and ``n`` parameter rows (``None`` if no augmentation)."""
    ops = parse_strategy(strategy)
    if not ops:
        return None
    op = ops[int(torch.randint(len(ops), (1,), generator=generator))]
    return AugParams(op, torch.rand(n, _NUM_UNIFORMS[op], generator=generator))


def apply_params(x: torch.Tensor, params: AugParams | None) -> torch.Tensor:
    """Apply sampled parameters to a batch ``(N, C, H, W)``; differentiable in ``x``.

    ``params.u`` must have 1 row (shared by all images: Siamese) or N rows.
    """
    if params is None:
        return x
    u = to_device(params.u, x.device).to(x.dtype)
    if u.shape[0] not in (1, x.shape[0]):
        raise ValueError(f"{u.shape[0]} parameter rows for a batch of {x.shape[0]}")
    return _APPLY[params.op](x, u)


def apply_params_grouped(batches: list[torch.Tensor], params: list[AugParams | None]) -> list[torch.Tensor]:
    """Apply ``params[i]`` to ``batches[i]`` for every i, with one call per op drawn instead of one per batch.

    Returns the results in order: the i-th equals ``apply_params(batches[i], params[i])`` in its memory
    layout too (a view of its op's call; every op acts on each image alone, so an image sees only its own
    batch's parameters) -- bit for bit on CPU (tested), up to float rounding where a device's kernels sum
    in an order that depends on the batch size. DM's per-class Siamese augmentation (one ω_c per class)
    in a handful of kernels, which is what a GPU needs; differentiable in every batch. Each ``params[i]``
    has 1 row (shared) or one per image of ``batches[i]``, as :func:`apply_params` requires.
    """
    if len(batches) != len(params):
        raise ValueError(f"{len(batches)} batches and {len(params)} parameter draws")
    for i, (b, p) in enumerate(zip(batches, params)):
        if p is not None and p.u.shape[0] not in (1, b.shape[0]):
            raise ValueError(f"batch {i}: {p.u.shape[0]} parameter rows for a batch of {b.shape[0]}")
    out: list[torch.Tensor | None] = [b if p is None else None for b, p in zip(batches, params)]
    for op in dict.fromkeys(p.op for p in params if p is not None):
        members = [i for i, p in enumerate(params) if p is not None and p.op == op]
        counts = [batches[i].shape[0] for i in members]
        rows = [params[i].u.expand(n, -1) if params[i].u.shape[0] == 1 else params[i].u
                for i, n in zip(members, counts)]
        done = apply_params(torch.cat([batches[i] for i in members]), AugParams(op, torch.cat(rows)))
        for i, part in zip(members, done.split(counts)):
            out[i] = part
    return out


def augment(x: torch.Tensor, strategy: str | None, generator: torch.Generator,
            siamese: bool = False) -> torch.Tensor:
    """Augment a batch with one op of ``strategy``: per-image parameters, or shared if ``siamese``."""
    if strategy == CLASSIC:
        return classic_augment(x, generator)
    return apply_params(x, sample_params(strategy, 1 if siamese else x.shape[0], generator))


def _col(v: torch.Tensor) -> torch.Tensor:
    return v.view(-1, 1, 1, 1)


def _color(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    x = x + _col(u[:, 0] - 0.5) * BRIGHTNESS
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * _col(u[:, 1] * SATURATION) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _col(u[:, 2] + CONTRAST) + mean


def _affine(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    theta = theta.expand(x.shape[0], 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=ALIGN_CORNERS)
    return F.grid_sample(x, grid, align_corners=ALIGN_CORNERS)


def _scale(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    s = u * (SCALE_RATIO - 1.0 / SCALE_RATIO) + 1.0 / SCALE_RATIO
    zero = torch.zeros_like(s[:, 0])
    theta = torch.stack([torch.stack([s[:, 0], zero, zero], 1),
                         torch.stack([zero, s[:, 1], zero], 1)], 1)
    return _affine(x, theta)


def _rotate(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    a = (u[:, 0] - 0.5) * 2 * ROTATE_DEGREES / 180 * math.pi
    zero = torch.zeros_like(a)
    theta = torch.stack([torch.stack([a.cos(), a.sin(), zero], 1),
                         torch.stack([-a.sin(), a.cos(), zero], 1)], 1)
    return _affine(x, theta)


def _flip(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    return torch.where(_col(u[:, 0] < FLIP_PROB), x.flip(3), x)


def _uniform_int(u: torch.Tensor, low: int, high: int) -> torch.Tensor:
    """Map uniforms in [0,1) to integers in [low, high)."""
    return (u * (high - low)).floor().long().clamp_(max=high - low - 1) + low


def _crop(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    n, _, h, w = x.shape
    sh, sw = int(h * CROP_RATIO + 0.5), int(w * CROP_RATIO + 0.5)
    ty = _uniform_int(u[:, 0], -sh, sh + 1).expand(n)
    tx = _uniform_int(u[:, 1], -sw, sw + 1).expand(n)
    # Shift by (ty, tx); pixels shifted in from outside come from a 1-pixel zero border.
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + ty.view(n, 1, 1) + 1).clamp(0, h + 1)
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + tx.view(n, 1, 1) + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1])
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def _cutout(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    _, _, h, w = x.shape
    ch, cw = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    top = _uniform_int(u[:, 0], 0, h + (1 - ch % 2)) - ch // 2
    left = _uniform_int(u[:, 1], 0, w + (1 - cw % 2)) - cw // 2
    r = torch.arange(h, device=x.device).view(1, h, 1)
    c = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((r >= top.view(-1, 1, 1)) & (r < top.view(-1, 1, 1) + ch)
              & (c >= left.view(-1, 1, 1)) & (c < left.view(-1, 1, 1) + cw))
    return x * (~inside).unsqueeze(1).to(x.dtype)


def classic_augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Chapter 3's MNIST augmentation: per image one of crop / scale / rotate, ``(N, C, H, W)``.

    crop: shift by an integer in [-4, 4) pixels per axis; scale: a factor in [0.8, 1.2] per
    axis about the centre; rotate: an integer angle in [-45, 45) degrees. Empty areas take the
    batch's per-channel mean, as in the authors' code (which also fills crop and rotate with
    the mean; its scale pads with zeros, which in normalised space is close to the mean).
    Bilinear sampling stands in for their scipy rotation and nearest-neighbour resize.
    """
    n, _, h, w = x.shape
    choice = to_device(torch.randint(3, (n,), generator=generator), x.device).view(n, 1, 1)
    u = to_device(torch.rand(n, 2, generator=generator), x.device).to(x.dtype)
    eye = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], device=x.device, dtype=x.dtype).repeat(n, 1, 1)
    crop = eye.clone()
    crop[:, 0, 2] = _pixel_shift(u[:, 1], CLASSIC_CROP_PIXELS, w)
    crop[:, 1, 2] = _pixel_shift(u[:, 0], CLASSIC_CROP_PIXELS, h)
    factor = 1 + (2 * u - 1) * CLASSIC_SCALE
    scale = eye.clone()
    scale[:, 0, 0], scale[:, 1, 1] = 1 / factor[:, 1], 1 / factor[:, 0]
    angle = (torch.floor(u[:, 0] * 2 * CLASSIC_ROTATE_DEGREES) - CLASSIC_ROTATE_DEGREES) / 180 * math.pi
    zero = torch.zeros_like(angle)
    rotate = torch.stack([torch.stack([angle.cos(), angle.sin(), zero], 1),
                          torch.stack([-angle.sin(), angle.cos(), zero], 1)], 1)
    theta = torch.where(choice == 0, crop, torch.where(choice == 1, scale, rotate))
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x - mean, grid, align_corners=False) + mean


def _pixel_shift(u: torch.Tensor, pixels: int, size: int) -> torch.Tensor:
    """Uniforms -> an integer pixel shift in [-pixels, pixels), in affine-grid units for ``size`` pixels."""
    return (torch.floor(u * 2 * pixels) - pixels) * 2 / size


_APPLY = {"color": _color, "crop": _crop, "cutout": _cutout, "flip": _flip,
          "scale": _scale, "rotate": _rotate}
