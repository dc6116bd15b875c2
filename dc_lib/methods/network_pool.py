"""Which networks DM samples (Table 5.4): trained ConvNets' states, grouped by validation accuracy.

DM draws a freshly initialised embedding network psi_theta at every iteration. Table 5.4 asks whether
trained ones would do better: the thesis trains 1,000 ConvNets on the whole CIFAR10 training set from
different seeds, keeps their intermediate states, groups the states by validation accuracy (10-20 %,
..., 60-70 %, >= 70 %, and all of them) and lets DM draw its network from one group. Its answer:
randomly initialised networks work as well as trained ones of any group.

:func:`train_pool` trains the networks and keeps the states (with their accuracy on a validation split
carved from the training set, never the test set); :func:`group_states` picks a group's states; DM draws
from them when its :class:`~dc_lib.methods.distribution_matching.DMConfig` names a file of them
(``networks``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..core.checks import positive_int
from ..core.data import RealData
from ..core.files import atomic_write
from ..core.models import get_network
from ..core.seeding import derive_seed, make_generator, seed_everything

# The thesis's groups of validation accuracy (%), as its table names them; "all" is every kept state.
GROUPS = ("10-20", "20-30", "30-40", "40-50", "50-60", "60-70", ">=70")
ALL = "all"
RANDOM = "random"  # not a group: DM's own freshly initialised networks
DISTRIBUTIONS = (RANDOM, *GROUPS, ALL)


@dataclass
class NetworkPool:
    """Kept states of networks trained on the whole set.

    Attributes:
        arch: the network every state belongs to.
        states: parameter and buffer tensors of each kept state (CPU).
        val_acc: each state's accuracy (%) on the validation split.
        record: how the pool was trained (data, networks, epochs, seeds): a saved pool is reused only
            under the same record.
    """

    arch: str
    states: list[dict[str, torch.Tensor]]
    val_acc: list[float]
    record: dict


def in_group(accuracy: float, group: str) -> bool:
    """Whether a validation accuracy (%) falls in ``group`` (``"30-40"``: 30 <= acc < 40; ``">=70"``; ``"all"``)."""
    if group == ALL:
        return True
    if group.startswith(">="):
        return accuracy >= float(group[2:])
    if group not in GROUPS:
        raise ValueError(f"Unknown network group {group!r}; valid: {', '.join(GROUPS + (ALL,))}")
    low, high = (float(v) for v in group.split("-"))
    return low <= accuracy < high


def group_states(pool: NetworkPool, group: str) -> list[dict[str, torch.Tensor]]:
    """The states of ``pool`` whose validation accuracy falls in ``group`` (:func:`in_group`); may be empty."""
    return [s for s, acc in zip(pool.states, pool.val_acc) if in_group(acc, group)]


def _accuracy(net, x: torch.Tensor, y: torch.Tensor, batch: int = 500) -> float:
    net.eval()
    with torch.no_grad():
        correct = sum(int((net(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum()) for i in range(0, len(x), batch))
    net.train()
    return 100.0 * correct / len(x)


def train_pool(real: RealData, *, nets: int, epochs: int, keep_every: int, val_size: int,
               train_size: int | None = None, arch: str = "convnet", seed: int = 0,
               cache: str | os.PathLike | None = None, progress: bool = True) -> NetworkPool:
    """Train ``nets`` networks on the training set less a seeded validation split of ``val_size`` images, and
    keep each network's state before its first step, after steps 1, 2, 4, 8, ... below ``keep_every`` (a
    network passes the low accuracy groups within its first hundred steps) and every ``keep_every`` steps,
    with its validation accuracy (%). The recipe is the coreset network's (SGD lr 0.01, momentum 0.9, weight decay 5e-4, batches
    of 256, no augmentation); the thesis does not give its own. ``train_size``: train on at most that many
    of the remaining images (None = all). Cached at ``cache`` (a ``.pt`` file)."""
    for name, value in (("nets", nets), ("epochs", epochs), ("keep_every", keep_every), ("val_size", val_size)):
        positive_int(name, value)
    n = real.x_train.shape[0]
    if val_size >= n:
        raise ValueError(f"val_size={val_size} leaves no training images ({n} in {real.info.name})")
    info = real.info
    record = {"dataset": info.name, "source": real.source, "arch": arch, "nets": nets, "epochs": epochs,
              "keep_every": keep_every, "val_size": val_size, "train_size": train_size, "seed": seed}
    if cache is not None and Path(cache).is_file():
        saved = torch.load(cache, map_location="cpu", weights_only=False)
        if saved.record == record:
            return saved
    order = torch.randperm(n, generator=make_generator(derive_seed(seed, "validation split")))
    val, train = order[:val_size].to(real.device), order[val_size:][:train_size].to(real.device)
    x_val, y_val = real.x_train[val], real.y_train[val]
    states, accs = [], []

    def keep(net):
        states.append({k: v.detach().cpu().clone() for k, v in net.state_dict().items()})
        accs.append(_accuracy(net, x_val, y_val))

    bar = tqdm(total=nets * epochs, desc=f"network pool {info.name}", disable=not progress)
    for i in range(nets):
        net_seed = derive_seed(seed, "pool network", i)
        seed_everything(net_seed)
        net = get_network(arch, info.channel, info.num_classes, info.im_size).to(real.device)
        gen = make_generator(net_seed)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
        net.train()
        keep(net)
        step = 0
        for _ in range(epochs):
            shuffled = train[torch.randperm(len(train), generator=gen).to(real.device)]
            for start in range(0, len(shuffled), 256):
                idx = shuffled[start:start + 256]
                loss = F.cross_entropy(net(real.x_train[idx]), real.y_train[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                if step % keep_every == 0 or (step < keep_every and step & (step - 1) == 0):
                    keep(net)
            bar.update(1)
    bar.close()
    pool = NetworkPool(arch, states, accs, record)
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(cache, lambda tmp: torch.save(pool, tmp))
    return pool
