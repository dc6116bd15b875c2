"""Small class-conditional generative models as set makers: Table B.T1's GMMN, VAE and GAN rows.

Appendix B asks whether a generative model trained on the same data gives a better small set than
random real images: its samples, ``ipc`` per class, are the synthetic set. The thesis uses GMMN (Li et
al. 2015), DC-VAE (Parmar et al. 2021) and BigGAN trained with DiffAugment, none of whose training
details it gives (hyperparameters.md gap 11). Here each is deliberately tiny, the same generator for all
three, so that the comparison is of the training objective:

* the generator: a latent ``z`` (32-d) and a one-hot class -> linear -> 64 x H/4 x W/4 -> two blocks of
  [2x nearest upsample, 3x3 conv, batch norm, LeakyReLU] -> 3x3 conv to the image, in normalised space;
* ``gmmn``: a generative moment matching network, trained to minimise, per class, the squared MMD
  between its samples and real images in pixel space under a sum of Gaussian kernels;
* ``vae``: a conditional VAE (two strided convs encode image and class to mu, log sigma^2; the
  generator decodes), trained on squared error + KL; sampled from the prior (the thesis's DC-VAE adds
  a contrastive term, not here);
* ``biggan``: a conditional GAN, not BigGAN: a projection discriminator (two strided convs), hinge loss,
  Adam (2e-4, betas 0.5 / 0.999), real and generated batches seen through DiffAugment (DSA's ops, each
  image its own draw), as the thesis's BigGAN was trained.

Every model is seeded, so the same seed gives the same generator and samples.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..core.augment import augment, default_strategy
from ..core.checks import positive_int
from ..core.data import RealData
from ..core.files import atomic_write
from ..core.seeding import make_generator, seed_everything
from ..core.synset import SyntheticSet

METHODS = ("gmmn", "vae", "biggan")


class ConditionalGenerator(nn.Module):
    """``(z (N, latent), y (N,)) -> (N, C, H, W)`` images in normalised space (see the module doc)."""

    def __init__(self, latent: int, num_classes: int, channel: int, im_size, width: int = 64):
        super().__init__()
        h, w = im_size
        if h % 4 or w % 4:
            raise ValueError(f"the generator doubles twice to reach the image: {h}x{w} must be divisible by 4")
        self.latent, self.num_classes, self.start = latent, num_classes, (width, h // 4, w // 4)
        self.project = nn.Linear(latent + num_classes, width * (h // 4) * (w // 4))

        def block(c_in, c_out):
            return [nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out),
                    nn.LeakyReLU(0.2)]

        self.body = nn.Sequential(nn.BatchNorm2d(width), nn.LeakyReLU(0.2), *block(width, width),
                                  *block(width, width // 2), nn.Conv2d(width // 2, channel, 3, padding=1))

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        code = torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], 1)
        return self.body(self.project(code).view(-1, *self.start))


class _Encoder(nn.Module):
    """VAE encoder: ``(x, y) -> (mu, log sigma^2)``, each ``(N, latent)``."""

    def __init__(self, latent: int, num_classes: int, channel: int, im_size):
        super().__init__()
        self.num_classes = num_classes
        self.conv = nn.Sequential(nn.Conv2d(channel, 32, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(32, 64, 4, 2, 1),
                                  nn.LeakyReLU(0.2), nn.Flatten())
        features = 64 * (im_size[0] // 4) * (im_size[1] // 4)
        self.head = nn.Linear(features + num_classes, 2 * latent)

    def forward(self, x, y):
        out = self.head(torch.cat([self.conv(x), F.one_hot(y, self.num_classes).to(x.dtype)], 1))
        return out.chunk(2, dim=1)


class _Discriminator(nn.Module):
    """Projection discriminator: ``(x, y) -> (N,)`` scores, ``linear(f) + <embed(y), f>``."""

    def __init__(self, num_classes: int, channel: int, im_size):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(channel, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1),
                                  nn.LeakyReLU(0.2), nn.Flatten())
        features = 128 * (im_size[0] // 4) * (im_size[1] // 4)
        self.linear = nn.Linear(features, 1)
        self.embed = nn.Embedding(num_classes, features)

    def forward(self, x, y):
        f = self.conv(x)
        return self.linear(f).squeeze(1) + (self.embed(y) * f).sum(1)


@dataclass(frozen=True)
class GeneratorConfig:
    """The hyperparameters of one small generator (the thesis gives none; see the module doc).

    Attributes:
        method: ``gmmn``, ``vae`` or ``biggan`` (the training objective).
        iterations: training steps, each on ``per_class`` real images of every class.
        per_class: real (and generated) images per class per step.
        latent: dimension of z.
        lr: Adam's learning rate (GAN: 2e-4 with betas 0.5 / 0.999; GMMN and VAE: 1e-3).
        bandwidths: GMMN's Gaussian kernel widths, on distances divided by the pixel count.
        diff_augment: the GAN's DiffAugment ops (``auto``: DSA's strategy for the dataset).
    """

    method: str
    iterations: int = 2000
    per_class: int = 16
    latent: int = 32
    lr: float | None = None
    bandwidths: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
    diff_augment: str | None = "auto"

    def record(self, real: RealData) -> dict:
        """The config as it ran (defaults resolved), with the data."""
        return {**asdict(self), "lr": self.resolved_lr, "bandwidths": list(self.bandwidths),
                "diff_augment": self.augmentation(real), "dataset": real.info.name}

    @property
    def resolved_lr(self) -> float:
        return self.lr if self.lr is not None else (2e-4 if self.method == "biggan" else 1e-3)

    def augmentation(self, real: RealData) -> str | None:
        if self.method != "biggan":
            return None
        return default_strategy(real.info.name) if self.diff_augment == "auto" else self.diff_augment


def mmd2(a: torch.Tensor, b: torch.Tensor, bandwidths) -> torch.Tensor:
    """Squared MMD (biased estimate) between ``a (n, D)`` and ``b (m, D)`` under the sum of Gaussian
    kernels ``exp(-||x - y||^2 / (D * s^2))`` over ``bandwidths`` s."""
    x = torch.cat([a, b])
    d2 = torch.cdist(x, x).pow(2) / x.shape[1]
    k = sum(torch.exp(-d2 / s ** 2) for s in bandwidths)
    n = a.shape[0]
    return k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean()


def _class_batch(real: RealData, per_class: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.cat([real.sample_class(c, per_class, gen) for c in range(real.info.num_classes)])
    y = torch.cat([torch.full((min(per_class, real.class_count(c)),), c) for c in range(real.info.num_classes)])
    return x, y.to(real.device)


def train_generator(real: RealData, config: GeneratorConfig, *, seed: int = 0, progress: bool = False) -> ConditionalGenerator:
    """Train a small class-conditional generator on ``real``'s training split by ``config.method``'s
    objective (module doc); returns it in eval mode."""
    if config.method not in METHODS:
        raise ValueError(f"Unknown generator {config.method!r}; valid: {', '.join(METHODS)}")
    positive_int("iterations", config.iterations)
    positive_int("per_class", config.per_class)
    info, device = real.info, real.device
    seed_everything(seed)
    gen = make_generator(seed)
    g = ConditionalGenerator(config.latent, info.num_classes, info.channel, info.im_size).to(device)
    betas = (0.5, 0.999) if config.method == "biggan" else (0.9, 0.999)
    opt_g = torch.optim.Adam(g.parameters(), lr=config.resolved_lr, betas=betas)
    if config.method == "vae":
        enc = _Encoder(config.latent, info.num_classes, info.channel, info.im_size).to(device)
        opt_g = torch.optim.Adam([*g.parameters(), *enc.parameters()], lr=config.resolved_lr)
    if config.method == "biggan":
        d = _Discriminator(info.num_classes, info.channel, info.im_size).to(device)
        opt_d = torch.optim.Adam(d.parameters(), lr=config.resolved_lr, betas=betas)
        strategy = config.augmentation(real)
    g.train()
    for _ in tqdm(range(config.iterations), desc=f"{config.method} {info.name}", disable=not progress):
        x, y = _class_batch(real, config.per_class, gen)
        z = torch.randn((x.shape[0], config.latent), generator=gen).to(device)
        if config.method == "gmmn":
            fake = g(z, y)
            loss = sum(mmd2(fake[y == c].flatten(1), x[y == c].flatten(1), config.bandwidths)
                       for c in range(info.num_classes))
        elif config.method == "vae":
            mu, logvar = enc(x, y)
            recon = g(mu + torch.exp(0.5 * logvar) * z, y)
            kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(1)
            loss = (((recon - x) ** 2).flatten(1).sum(1) + kl).mean()
        else:
            fake = g(z, y)
            d_real = d(augment(x, strategy, gen), y)
            d_fake = d(augment(fake.detach(), strategy, gen), y)
            loss_d = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            loss = -d(augment(fake, strategy, gen), y).mean()
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
        if not math.isfinite(float(loss.detach())):
            raise FloatingPointError(f"{config.method} on {info.name}: the loss became NaN/inf; lower its lr")
    return g.eval()


def cached_generator(real: RealData, config: GeneratorConfig, *, seed: int, cache: str | os.PathLike,
                     progress: bool = False) -> ConditionalGenerator:
    """:func:`train_generator`, saved at ``cache`` (a ``.pt`` of weights and what made them) and loaded
    from there when the data, config and seed are the same; otherwise trained again and saved."""
    key = {"dataset": real.info.name, "seed": seed, **config.record(real)}
    info = real.info
    if Path(cache).is_file():
        state = torch.load(cache, map_location=real.device, weights_only=True)
        if state.get("key") == key:
            g = ConditionalGenerator(config.latent, info.num_classes, info.channel, info.im_size).to(real.device)
            g.load_state_dict(state["weights"])
            return g.eval()
    g = train_generator(real, config, seed=seed, progress=progress)
    Path(cache).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(cache, lambda tmp: torch.save({"key": key, "weights": g.state_dict()}, tmp))
    return g


@torch.no_grad()
def sample_set(g: ConditionalGenerator, real: RealData, ipc: int, config: GeneratorConfig, *,
               seed: int = 0) -> SyntheticSet:
    """``ipc`` samples per class of a trained generator, as a SyntheticSet (method ``config.method``),
    images ``(num_classes * ipc, C, H, W)`` class by class, labels fixed and balanced."""
    positive_int("ipc", ipc)
    info = real.info
    labels = torch.arange(info.num_classes).repeat_interleave(ipc).to(real.device)
    z = torch.randn((labels.numel(), config.latent), generator=make_generator(seed)).to(real.device)
    images = g.eval()(z, labels)
    return SyntheticSet(images.detach().clone(), labels, info.name, config.method, ipc, info.mean, info.std,
                        config=config.record(real), seed=seed, iteration=config.iterations,
                        class_names=info.class_names())
