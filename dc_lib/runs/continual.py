"""Continual learning with condensed rehearsal memories (thesis Figs. 3.4, 4.3, 5.6, 5.7).

Two protocols, built on the methods of chapters 3-5 (not copies of them):

* **Task-incremental, E2E/EEIL style** (Figs. 3.4, 4.3; :func:`run_eeil`): a stream of digit
  datasets sharing the 10-digit label space, all as 32x32 RGB. Stage t trains the model on the new
  task plus the rehearsal memory (cross-entropy, plus knowledge distillation from the previous
  stage's model when ``kd``), then fine-tunes it on a balanced set (the memory and as many new
  images per class). At the end of each stage but the last, ``memory_ipc`` images per class of
  that stage's data join the memory, made by herding (E2E/EEIL's own choice, on the current
  model's features), DC, DSA or DM. The score after stage t is the mean accuracy over the test
  sets of all tasks seen so far (``test_per_task`` random test images each).
* **Class-incremental, GDumb style** (Figs. 5.6, 5.7; :func:`run_gdumb`): the classes split
  randomly and evenly into steps; the memory grows by ``ipc`` images per class of each step's
  new classes (random, herding, DSA, DM); after each step a fresh default ConvNet is trained from
  scratch on the memory only (DSA augmentation) and tested on the test images of all seen classes.
  Herding's feature network and DSA see only the current step's classes; DM condenses each class
  on its own (seeded by the class), so its per-class sets are the same for every split.

Where the thesis is silent (hyperparameters.md section 6 item 14) the choices are stated in
:class:`EEILConfig` and :class:`GDumbConfig`. Every accuracy is a tidy row in a
:class:`~dc_lib.runs.results.ResultStore`; finished rows are skipped on a rerun.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..core.augment import NO_FLIP_STRATEGY, default_strategy
from ..core.checks import non_negative_int, positive_int
from ..core.data import DatasetInfo, RealData, check_ipc, denormalise
from ..core.models import get_network
from ..core.seeding import derive_seed, make_generator, seed_everything
from ..core.synset import SetFileError, SyntheticSet
from ..engines.choose import evaluate_set
from ..engines.evaluation import EvalConfig, test_accuracy
from ..methods.baselines import feature_network, select_herding, select_random
from ..methods.distribution_matching import DMConfig, condense_dm
from ..methods.gradient_matching import GMConfig, condense_gm
from .results import Cell, ResultStore, make_rows

MEMORY_METHODS = ("random", "herding", "dc", "dsa", "dm")


@dataclass(frozen=True)
class EEILConfig:
    """Task-incremental E2E/EEIL (thesis A.1, Figs. 3.4/4.3). Defaults: the thesis, else our choice.

    Attributes:
        memory_ipc: rehearsal images per class per seen task (thesis: 10).
        iterations, lr: SGD steps and learning rate per stage on new data + memory (thesis: 5000, 0.01).
        finetune_iterations, finetune_lr: balanced fine-tuning (thesis: 500, 0.001).
        kd_weight, temperature: knowledge distillation (thesis: 1.0, T = 2).
        test_per_task: random test images per task (thesis: 2000).
        batch: images per SGD step (not stated; 256, the authors' evaluation batch).
        momentum, weight_decay: not stated; 0.9 and 5e-4, the authors' evaluation optimiser.
        dc_iterations, dm_iterations, batch_real: budgets of the DC/DSA and DM memories (K; thesis
            protocols 1000 and 20000, 256 real images per class).
        feature_epochs: unused by E2E herding, which embeds with the current model (kept for symmetry).
        runs: seeds of the repeated runs (thesis: 5 runs).
    """

    memory_ipc: int = 10
    iterations: int = 5000
    lr: float = 0.01
    finetune_iterations: int = 500
    finetune_lr: float = 0.001
    kd_weight: float = 1.0
    temperature: float = 2.0
    test_per_task: int = 2000
    batch: int = 256
    momentum: float = 0.9
    weight_decay: float = 5e-4
    dc_iterations: int = 1000
    dm_iterations: int = 20000
    batch_real: int = 256
    runs: tuple[int, ...] = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class GDumbConfig:
    """Class-incremental GDumb (thesis Figs. 5.6/5.7; the authors' ``CL_DM.py``).

    Attributes:
        ipc: memory images added per class of each step (thesis: 20).
        orders: class-order seeds; order s is ``np.random.seed(s); np.random.permutation(C)`` (CL_DM.py: 0-4).
        nets: evaluation networks per order and step (CL_DM.py: 3).
        epochs: epochs of each retraining from scratch (CL_DM.py: 1000; lr 0.01, batch 256, DSA).
        dm_iterations, dsa_iterations, batch_real: memory budgets (K; thesis 20000 and 1000; 256).
        dsa_init: DSA's initial images (``noise``, the thesis; ``real`` converges faster at small K).
        feature_epochs: epochs of herding's feature network on the step's classes (not stated; 10).
        test_limit: test on N test images of the seen classes drawn at random (seeded per order and
            step; a joined stream keeps its datasets in order, so the first N would be one dataset's); None = all.
    """

    ipc: int = 20
    orders: tuple[int, ...] = (0, 1, 2, 3, 4)
    nets: int = 3
    epochs: int = 1000
    dm_iterations: int = 20000
    dsa_iterations: int = 1000
    batch_real: int = 256
    dsa_init: str = "noise"
    feature_epochs: int = 10
    test_limit: int | None = None


# ---------------------------------------------------------------------------------------------
# Data plumbing shared by both protocols


def subset_classes(real: RealData, classes) -> RealData:
    """``real`` restricted to ``classes`` (global labels), relabelled ``0..len(classes)-1`` in that order.

    Training on the subset and testing on its test split is GDumb's masking of unseen classes.
    """
    classes = [int(c) for c in classes]
    if len(set(classes)) != len(classes) or not all(0 <= c < real.info.num_classes for c in classes):
        raise ValueError(f"classes must be distinct labels of {real.info.name} (0..{real.info.num_classes - 1}), "
                         f"got {classes}")
    lookup = torch.full((real.info.num_classes,), -1, dtype=torch.long)
    lookup[torch.tensor(classes)] = torch.arange(len(classes))
    lookup = lookup.to(real.device)
    names = real.info.class_names()
    info = replace(real.info, num_classes=len(classes), classes=tuple(names[c] for c in classes))

    def pick(x, y):
        keep = lookup[y] >= 0
        return x[keep], lookup[y[keep]]

    x_train, y_train = pick(real.x_train, real.y_train)
    x_test, y_test = pick(real.x_test, real.y_test)
    return RealData(info, x_train, y_train, x_test, y_test, real.source, real.note)


def as_rgb32(real: RealData, name: str, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)) -> RealData:
    """``real`` as 32x32 RGB (bilinear resize, grey repeated), normalised with one shared ``mean``/``std``.

    The tasks of a stream must share one input space; the thesis reshapes SVHN, MNIST and USPS to
    32x32 RGB. The shared normalisation (0.5, 0.5) is our choice (the thesis does not state one).
    """
    info = DatasetInfo(name, 3, (32, 32), real.info.num_classes, tuple(mean), tuple(std), npz_files=(),
                       torchvision_name=None, classes=real.info.classes)
    m = torch.tensor(mean).view(1, -1, 1, 1)
    s = torch.tensor(std).view(1, -1, 1, 1)

    def convert(x):
        out = []
        for start in range(0, x.shape[0], 4096):
            img = denormalise(x[start:start + 4096], real.info)
            img = F.interpolate(img, size=(32, 32), mode="bilinear", align_corners=False)
            out.append(((img.expand(-1, 3, -1, -1) if img.shape[1] == 1 else img) - m) / s)
        return torch.cat(out).contiguous().to(real.device)

    return RealData(info, convert(real.x_train), real.y_train, convert(real.x_test), real.y_test,
                    real.source, real.note)


def class_orders(num_classes: int, seeds) -> list[list[int]]:
    """The authors' class orders: ``np.random.seed(s); np.random.permutation(num_classes)`` per seed
    (drawn from ``RandomState(s)``, the same numbers, without touching numpy's global state)."""
    return [[int(c) for c in np.random.RandomState(int(s)).permutation(num_classes)] for s in seeds]


def class_steps(order: list[int], steps: int) -> list[list[int]]:
    """``order`` cut into ``steps`` equal groups; ValueError if they do not divide the classes."""
    positive_int("steps", steps)
    if len(order) % steps:
        raise ValueError(f"{steps} steps do not divide {len(order)} classes evenly; choose a divisor of "
                         f"{len(order)} (e.g. {', '.join(str(d) for d in range(2, len(order)) if len(order) % d == 0)})")
    k = len(order) // steps
    return [order[i * k:(i + 1) * k] for i in range(steps)]


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Knowledge distillation ``T² · KL(softmax(z_t / T) || softmax(z_s / T))``, mean over the batch.

    Logits ``(B, C)``. The T² factor keeps the gradient scale independent of T (Hinton et al.;
    the thesis gives weight 1.0 and T = 2, not the form).
    """
    t = temperature
    log_p_student = F.log_softmax(student_logits / t, dim=1)
    p_teacher = F.softmax(teacher_logits.detach() / t, dim=1)
    return F.kl_div(log_p_student, p_teacher, reduction="batchmean") * t * t


# ---------------------------------------------------------------------------------------------
# Memories


def _cached(path: Path | None, make, real: RealData, ipc: int, method: str) -> SyntheticSet:
    """A memory set from ``path`` if it is there and fits, else made and saved there."""
    if path is not None and path.is_file():
        try:
            syn = SyntheticSet.load(path, device=real.device)
            syn.check_matches(real, ipc=ipc, method=method, where=str(path))
            return syn
        except SetFileError:
            pass  # unreadable or foreign: made again below
    syn = make()
    if path is not None:
        syn.save(path)
    return syn


def class_memory(real: RealData, classes, method: str, ipc: int, *, seed: int, dm_iterations: int,
                 gm_iterations: int, batch_real: int, feature_epochs: int, dsa_init: str = "noise",
                 strategy: str | None = "auto", cache_dir: str | os.PathLike | None = None,
                 progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``ipc`` memory images per class of ``classes`` (global labels of ``real``), seen only through them.

    Returns ``(images (len(classes) * ipc, C, H, W), global labels)``. Random, herding (a feature
    network trained ``feature_epochs`` on these classes only) and DSA/DC (condensed on these classes
    only) depend on which classes share the step; DM condenses each class alone, seeded by the
    class, so its per-class sets are cached and reused by every split (``cache_dir``).
    """
    if method not in MEMORY_METHODS:
        raise ValueError(f"unknown memory method {method!r}; valid: {', '.join(MEMORY_METHODS)}")
    classes = [int(c) for c in classes]
    strategy = default_strategy(real.info.name) if strategy == "auto" else strategy
    cache = Path(cache_dir) if cache_dir is not None else None
    if method == "dm":
        parts = []
        dm = DMConfig(iterations=dm_iterations, batch_real=batch_real, strategy=strategy)
        for c in classes:
            one = subset_classes(real, [c])
            path = cache / f"dm_class{c}_ipc{ipc}_K{dm_iterations}_seed{seed}.pt" if cache else None
            parts.append(_cached(path, lambda: condense_dm(one, ipc, dm, seed=derive_seed(seed, "dm-class", c),
                                                           progress=progress), one, ipc, "dm").images)
        images = torch.cat(parts)
    else:
        sub = subset_classes(real, classes)
        check_ipc(sub, ipc)
        if method == "random":
            syn = select_random(sub, ipc, seed=derive_seed(seed, "random", *classes))
        elif method == "herding":
            net, _ = feature_network(sub, epochs=feature_epochs, seed=seed, progress=progress)
            syn = select_herding(sub, ipc, net, seed=seed)
        else:
            gm = GMConfig(iterations=gm_iterations, batch_real=batch_real, init=dsa_init,
                          dsa_strategy=strategy if method == "dsa" else None)
            syn = condense_gm(sub, ipc, gm, seed=seed, progress=progress)
        images = syn.images
    labels = torch.tensor(classes, device=real.device).repeat_interleave(ipc)
    return images.detach().to(real.device), labels


# ---------------------------------------------------------------------------------------------
# GDumb: class-incremental


def gdumb_cell(stream: str, method: str, steps: int, step: int, ipc: int) -> Cell:
    """The result cell of one step: table F5.6 (5 steps) / F5.7 (10 steps), else ``F5.6-steps<S>``."""
    table = {5: "F5.6", 10: "F5.7"}.get(steps, f"F5.6-steps{steps}")
    return Cell(chapter=5, table=table, dataset=stream, ipc=ipc, method=method,
                condense_arch="none" if method == "random" else "convnet", eval_arch="convnet",
                setting=f"cl=gdumb;steps={steps};stage={step}")


def run_gdumb(real: RealData, method: str, steps: int, config: GDumbConfig, store: ResultStore, *,
              profile: str, budget: str, seed: int = 0, strategy: str | None = "auto",
              cache_dir: str | os.PathLike | None = None, progress: bool = True) -> None:
    """GDumb with a ``method`` memory over every class order of ``config``; rows go to ``store``.

    For order o and step s (1-based): the memory holds ``config.ipc`` images of every class seen up to
    s; ``config.nets`` fresh ConvNets are trained on it from scratch (``config.epochs``, DSA) and
    tested on the test images of the seen classes (``set_idx`` = order index, ``net_idx`` = network).
    A step whose rows are in ``store`` is skipped (its memory is rebuilt only if a later step needs it).
    ``strategy``: the DSA augmentation of the memories and the retraining (``auto``: the dataset's).
    """
    strategy = default_strategy(real.info.name) if strategy == "auto" else strategy
    orders = class_orders(real.info.num_classes, config.orders)
    for o, order in tqdm(list(enumerate(orders)), desc=f"gdumb {method} {steps} steps", disable=not progress):
        groups = class_steps(order, steps)
        cells = [gdumb_cell(real.info.name, method, steps, s + 1, config.ipc) for s in range(steps)]
        if all(store.has(c, o, profile) for c in cells):
            continue
        mem_x, mem_y, seen = [], [], []
        for s, new in enumerate(groups):
            x, y = class_memory(real, new, method, config.ipc, seed=seed, dm_iterations=config.dm_iterations,
                                gm_iterations=config.dsa_iterations, batch_real=config.batch_real,
                                feature_epochs=config.feature_epochs, dsa_init=config.dsa_init,
                                strategy=strategy, cache_dir=cache_dir, progress=False)
            mem_x.append(x)
            mem_y.append(y)
            seen.extend(new)
            if store.has(cells[s], o, profile):
                continue
            sub = subset_classes(real, seen)
            if config.test_limit is not None and config.test_limit < sub.x_test.shape[0]:
                gen = make_generator(derive_seed(seed, "gdumb-test", config.orders[o], s))
                pick = torch.randperm(sub.x_test.shape[0], generator=gen)[:config.test_limit].to(sub.device)
                sub = RealData(sub.info, sub.x_train, sub.y_train, sub.x_test[pick], sub.y_test[pick], sub.source,
                               sub.note, sub.indices_class)
            local = torch.empty(real.info.num_classes, dtype=torch.long)
            local[torch.tensor(seen)] = torch.arange(len(seen))
            labels = local.to(real.device)[torch.cat(mem_y)]
            net_seed = derive_seed(seed, "gdumb", config.orders[o], s)
            accs = evaluate_set(torch.cat(mem_x), labels, sub,
                                EvalConfig(epochs=config.epochs, num_nets=config.nets, strategy=strategy),
                                seed=net_seed, progress=False)
            store.append(make_rows(cells[s], o, net_seed, accs, profile=profile, budget=budget,
                                   data_source=real.source, note=f"order seed {config.orders[o]}"))


# ---------------------------------------------------------------------------------------------
# E2E / EEIL: task-incremental


def eeil_cell(stream: str, method: str, stage: int, kd: bool, ipc: int, table: str = "F4.3") -> Cell:
    """The result cell of one stage (``T1``, ``T2`` ...) with or without KD."""
    return Cell(chapter=int(table[1]) if table[1].isdigit() else 4, table=table, dataset=stream, ipc=ipc,
                method=method, condense_arch="none" if method in ("random", "herding") else "convnet",
                eval_arch="convnet", setting=f"cl=eeil;stage=T{stage};kd={'yes' if kd else 'no'}")


def train_stage(net, x: torch.Tensor, y: torch.Tensor, *, iterations: int, lr: float, config: EEILConfig,
                teacher=None, kd_weight: float = 0.0, gen: torch.Generator, desc: str = "stage",
                progress: bool = False) -> None:
    """``iterations`` SGD steps of ``net`` on random batches of ``x (N, C, H, W)`` / ``y (N,)``:
    cross-entropy plus ``kd_weight`` times :func:`kd_loss` towards ``teacher`` (the previous stage's
    model) at ``config.temperature``. ValueError for a KD weight without a previous model."""
    if kd_weight and teacher is None:
        raise ValueError(f"kd_weight={kd_weight} needs the previous stage's model as teacher; the first "
                         "stage has none (pass kd_weight=0)")
    non_negative_int("iterations", iterations)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=config.momentum, weight_decay=config.weight_decay)
    net.train()
    for _ in tqdm(range(iterations), desc=desc, disable=not progress, leave=False):
        idx = torch.randint(0, x.shape[0], (min(config.batch, x.shape[0]),), generator=gen).to(x.device)
        logits = net(x[idx])
        loss = F.cross_entropy(logits, y[idx])
        if kd_weight:
            with torch.no_grad():
                target = teacher(x[idx])
            loss = loss + kd_weight * kd_loss(logits, target, config.temperature)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def _test_subset(real: RealData, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = make_generator(seed)
    idx = torch.randperm(real.x_test.shape[0], generator=gen)[:n].to(real.device)
    return real.x_test[idx], real.y_test[idx]


def run_eeil(tasks: list[RealData], method: str, kd: bool, config: EEILConfig, store: ResultStore, *,
             stream: str, profile: str, budget: str, table: str = "F4.3", seed: int = 0,
             progress: bool = True, shared: dict | None = None) -> None:
    """E2E/EEIL over ``tasks`` (RealData of one input space and label space, e.g. :func:`as_rgb32`)
    with a ``method`` memory, for every run seed of ``config``; one row per stage and run in ``store``.

    Stage t: train on task t + memory (``iterations`` at ``lr``; KD from the previous stage's model
    when ``kd``), fine-tune on the memory plus ``memory_ipc`` random new images per class
    (``finetune_iterations`` at ``finetune_lr``, KD alike), score = mean accuracy over the test
    subsets of tasks 1..t; then ``memory_ipc`` images per class of task t join the memory.

    ``shared`` (speed only): a dict kept across calls for the same tasks, config and seed. The first
    stage (no memory, no teacher) is the same for every method and KD setting, and a memory that does
    not depend on the model (random, DC, DSA, DM) is the same with and without KD: each is computed
    once and reused, with the batch generator's state, so the numbers equal those of a fresh run.
    """
    if method not in MEMORY_METHODS:
        raise ValueError(f"unknown memory method {method!r}; valid: {', '.join(MEMORY_METHODS)}")
    first = tasks[0].info
    for t in tasks[1:]:
        if (t.info.channel, t.info.im_size, t.info.num_classes) != (first.channel, first.im_size, first.num_classes):
            raise ValueError(f"the tasks of a stream need one input and label space; {t.info.name} is "
                             f"{t.info.channel}x{t.info.im_size} with {t.info.num_classes} classes, "
                             f"{first.name} {first.channel}x{first.im_size} with {first.num_classes}")
    for t in tasks:
        check_ipc(t, config.memory_ipc)
    ipc = config.memory_ipc
    for r, run_seed in enumerate(config.runs):
        cells = [eeil_cell(stream, method, i + 1, kd, ipc, table) for i in range(len(tasks))]
        if all(store.has(c, r, profile) for c in cells):
            continue
        seed_everything(derive_seed(seed, "eeil", run_seed))
        gen = make_generator(derive_seed(seed, "eeil-batches", run_seed))
        net = get_network("convnet", first.channel, first.num_classes, first.im_size).to(tasks[0].device)
        teacher, mem_x, mem_y = None, [], []
        tests = [_test_subset(task, config.test_per_task, derive_seed(seed, "test", i)) for i, task in enumerate(tasks)]
        for i, task in enumerate(tasks):
            x = torch.cat([task.x_train, *mem_x]) if mem_x else task.x_train
            y = torch.cat([task.y_train, *mem_y]) if mem_y else task.y_train
            weight = config.kd_weight if kd and teacher is not None else 0.0
            first_key = ("T1", run_seed)
            if i == 0 and shared is not None and first_key in shared:
                state, gen_state = shared[first_key]
                net.load_state_dict(state)
                gen.set_state(gen_state)
            else:
                train_stage(net, x, y, iterations=config.iterations, lr=config.lr, config=config, teacher=teacher,
                            kd_weight=weight, gen=gen, desc=f"T{i + 1} {method}", progress=progress)
                if i == 0 and shared is not None:
                    shared[first_key] = ({k: v.clone() for k, v in net.state_dict().items()}, gen.get_state())
            if mem_x:  # balanced fine-tuning: the memory and as many new images per class
                fresh = select_random(task, ipc, seed=derive_seed(seed, "balanced", run_seed, i))
                train_stage(net, torch.cat([fresh.images, *mem_x]), torch.cat([fresh.labels, *mem_y]),
                            iterations=config.finetune_iterations, lr=config.finetune_lr, config=config,
                            teacher=teacher, kd_weight=weight, gen=gen, desc=f"T{i + 1} balanced", progress=progress)
            per_task = [test_accuracy(net, tx, ty) for tx, ty in tests[:i + 1]]
            score = sum(per_task) / (i + 1)
            sources = "; ".join(tk.source for tk in tasks[:i + 1])
            rows = make_rows(cells[i], r, run_seed, [score], profile=profile, budget=budget, data_source=sources,
                             note=f"mean over the test sets of tasks 1..{i + 1}")
            # Each task's own accuracy too (metric task_acc, net_idx = task index): what a change in the
            # mean comes from, forgetting of the old tasks or learning of the new one. One append, one key.
            for j, row in enumerate(make_rows(cells[i], r, run_seed, per_task, profile=profile, budget=budget,
                                              data_source=sources, note="")):
                rows.append({**row, "metric": "task_acc", "note": f"test accuracy on task {j + 1} ({tasks[j].info.name})"})
            store.append(rows)
            if i + 1 < len(tasks):
                mem_key = ("memory", method, run_seed, i)
                if method != "herding" and shared is not None and mem_key in shared:
                    x_mem, y_mem = shared[mem_key]
                else:
                    x_mem, y_mem = _stage_memory(task, method, net, config,
                                                 seed=derive_seed(seed, "memory", run_seed, i))
                    if method != "herding" and shared is not None:
                        shared[mem_key] = (x_mem, y_mem)
                mem_x.append(x_mem)
                mem_y.append(y_mem)
                teacher = _frozen_copy(net)


def _stage_memory(task: RealData, method: str, net, config: EEILConfig, seed: int):
    ipc = config.memory_ipc
    if method == "herding":  # E2E/EEIL's herding embeds with the current model
        syn = select_herding(task, ipc, net, seed=seed)
        net.train()
    elif method == "random":
        syn = select_random(task, ipc, seed=seed)
    elif method == "dm":
        dm = DMConfig(iterations=config.dm_iterations, batch_real=config.batch_real, strategy=NO_FLIP_STRATEGY)
        syn = condense_dm(task, ipc, dm, seed=seed, progress=False)
    else:
        gm = GMConfig(iterations=config.dc_iterations, batch_real=config.batch_real,
                      dsa_strategy=NO_FLIP_STRATEGY if method == "dsa" else None)
        syn = condense_gm(task, ipc, gm, seed=seed, progress=False)
    return syn.images.detach(), syn.labels


def _frozen_copy(net):
    import copy

    teacher = copy.deepcopy(net).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher
