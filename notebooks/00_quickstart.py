# %% [markdown]
# # Quickstart: ten synthetic images per class, against ten real ones
#
# Dataset condensation learns a tiny synthetic training set that trains a network almost as well
# as the whole dataset. In about four minutes on two CPU cores, this notebook condenses MNIST to
# **10 images per class** with distribution matching (DM, thesis chapter 5), then checks the claim
# the way the thesis does: train fresh networks on the 100 synthetic images and test them on the
# 10,000 real test images, beside networks trained on 100 *random* real images under the same
# protocol.
#
# > **The outputs stored in this notebook are a `smoke` run** (seconds; the test suite re-executes
# > it with `PROFILE` forced to `smoke` and compares): their numbers are meaningless. The run of the
# > default parameters is [`results/quickstart/cpu/00_quickstart.ipynb`](../results/quickstart/cpu/00_quickstart.ipynb).
#
# The default `PROFILE = "cpu"` is a **reduced** budget: K = 200 DM iterations instead of the
# thesis's 20,000, 3 networks instead of 20, 50 training epochs instead of 1000.

# %% tags=["parameters"]
PROFILE = "cpu"  # cpu: ~4 min on 2 cores (reduced) | smoke: seconds, meaningless numbers | paper: thesis budget (GPU)
DATASET = "mnist"  # any dataset dc_lib knows (mnist, fashionmnist, usps, cifar10) or one you registered
IPC = 10  # images per class of the synthetic set (the thesis: 1, 10, 50)
SEED = 0  # one seed drives the set, the random draws and every network: same seed, same numbers
DEVICE = "auto"  # auto (CUDA if available) | cpu | cuda
DATA_ROOT = None  # folder with the npz files or torchvision data; None: env DC_DATA_ROOT, else ./data
RESULTS_DIR = "../results"  # the set, tidy CSV, table and figures go to RESULTS_DIR/quickstart/PROFILE

# %%
from pathlib import Path

import matplotlib.pyplot as plt

from dc_lib.core.augment import default_strategy
from dc_lib.core.checkpoint import Checkpointing
from dc_lib.core.config import QUICKSTART, notebook_profile, small_run
from dc_lib.core.data import load_dataset
from dc_lib.core.seeding import resolve_device
from dc_lib.methods.distribution_matching import DMConfig, condense_dm
from dc_lib.runs.comparison import against_random, comparison_rows, random_draws
from dc_lib.runs.plotting import plot_accuracy_bars, plot_synsets, save_figure
from dc_lib.runs.results import ResultStore, summarise, write_summary

profile = notebook_profile(PROFILE)
run = small_run(QUICKSTART, profile)
out_dir = Path(RESULTS_DIR) / "quickstart" / profile
progress = profile != "smoke"  # no progress bars in smoke, whose outputs the tests re-create
print(f"profile: {profile} -- {'reduced' if profile != 'paper' else 'thesis'} budget {run.budget()}")

# %% [markdown]
# ## 1. The real data
#
# `load_dataset` reads MNIST from the data root (the `.npz` copies, or torchvision's files) and
# normalises it with the dataset's mean and std. Everything below works in that normalised space.

# %%
real = load_dataset(DATASET, DATA_ROOT, device=resolve_device(DEVICE))
print(f"{real.info.name}: {len(real.y_train)} training and {len(real.y_test)} test images of "
      f"{tuple(real.x_train.shape[1:])}, {real.info.num_classes} classes")

# %% [markdown]
# ## 2. Condense with distribution matching
#
# DM starts from `IPC` random real images per class. At each of K iterations it draws a freshly
# initialised ConvNet, never trains it, and moves the synthetic pixels so that their mean
# embedding matches the mean embedding of a real batch of the same class, both seen through the
# same random augmentation (DSA, chapter 4). One gradient step per iteration, no inner loop.

# %%
dm = DMConfig(iterations=run.iterations, batch_real=run.batch_real)  # the thesis's DM with this profile's K
syn = condense_dm(real, IPC, dm, seed=SEED, progress=progress,
                  checkpoint=Checkpointing(out_dir / "synsets" / f"{DATASET}_dm_ipc{IPC}.ckpt", run.checkpoint_every))
syn.save(out_dir / "synsets" / f"{DATASET}_dm_ipc{IPC}.pt")
print(f"DM: {syn.images.shape[0]} synthetic images after K = {syn.iteration} iterations")

# %% [markdown]
# ## 3. Train fresh networks on it, and on random real images
#
# The evaluation protocol of every chapter: train a new ConvNet from scratch on the small set
# (SGD, with the same DSA augmentation), then test it on the real test split. The baseline is
# random selection: `IPC` real images per class drawn at random. Its accuracy depends on the draw,
# so each of its networks gets its own draw. Every accuracy goes to a tidy CSV first; the table
# and the chart are made from that file.

# %%
accuracies = against_random(syn, real, nets=run.nets, epochs=run.epochs, strategy=default_strategy(DATASET),
                            seed=SEED, test_limit=run.test_limit, progress=progress)
store = ResultStore(out_dir / "results.csv")
store.append(comparison_rows(syn, accuracies, table="quickstart", profile=profile, budget=run.budget(),
                             data_source=real.source, seed=SEED))
summary = summarise(store.load())
write_summary(summary, out_dir, "table_quickstart", title=f"Quickstart: DM vs random, {DATASET} {IPC} ipc",
              profile_line=f"Profile `{profile}` ({run.budget()}); thesis numbers: Table 5.1, 20 networks x 5 sets.")
print(summary[["method", "ipc", "n", "mean", "std", "thesis_mean", "thesis_std"]].round(1).to_string(index=False))

# %% [markdown]
# ## 4. Look at them
#
# Left, the synthetic images; right, one random draw of real ones. DM keeps the digits legible
# (it starts from real images) and adds class-typical strokes; the bar chart puts the two
# accuracies beside the thesis's (crosses; for MNIST at 10 images per class, Table 5.1 reports 97.5 ± 0.1 for DM
# and 95.1 ± 0.9 for random, with the full budget).

# %%
fig = plot_synsets([syn, random_draws(real, IPC, 1, SEED)[0]])
save_figure(fig, out_dir / "figure_sets.png")
plt.show()
fig = plot_accuracy_bars(summary, title=f"{DATASET}, {IPC} images per class ({profile} profile)")
save_figure(fig, out_dir / "figure_accuracy.png")
plt.show()

# %% [markdown]
# ## Where next
#
# - `05_distribution_matching.ipynb`: DM's tables and figures (chapter 5); `03_gradient_matching`
#   and `04_siamese_augmentation` for DC and DSA (chapters 3 and 4).
# - `06_your_own_data.ipynb`: the same route on a folder of your own images.
# - Headless: `./reproduce.sh chapter5 --profile cpu`; the command line: `dc-lib --help`.
