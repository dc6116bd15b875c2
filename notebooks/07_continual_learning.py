# %% [markdown]
# # Continual learning with condensed memories (Figs. 3.4, 4.3, 5.6, 5.7)
#
# > **The outputs stored in this notebook are a `smoke` run** (seconds; what CI and nbval check):
# > their numbers are meaningless. The reduced run is `./reproduce.sh continual --profile cpu`,
# > whose executed copy and tables land in `results/continual/cpu/`.
#
# Every method chapter of the thesis ends with the same argument: a learner that sees its data in
# stages and may keep only a few images per class (a *rehearsal memory*) forgets less when that
# memory is condensed than when it is selected. Two protocols:
#
# * **Task-incremental, E2E/EEIL** (Figs. 3.4, 4.3): digit datasets arrive one after another, all
#   as 32×32 RGB with one 10-digit label space. Each stage trains on the new task plus the memory,
#   with or without knowledge distillation (KD: weight 1, temperature 2) from the previous model,
#   then fine-tunes on a balanced set. 10 images per class of the finished task join the memory:
#   herding (E2E/EEIL's choice), DC, DSA or DM. Score: mean accuracy over all tasks seen so far.
# * **Class-incremental, GDumb** (Figs. 5.6, 5.7): the classes arrive in 5 or 10 random groups; the
#   memory grows by 20 images per class of each group; after each step a fresh ConvNet is trained
#   from scratch on the memory alone (DSA augmentation) and tested on all classes seen so far.
#   Herding and DSA see only the step's classes; DM condenses each class on its own.
#
# The thesis's streams need SVHN and CIFAR-100, which are not on these machines. The `cpu` profile
# runs the same protocols on **substitute streams** (MNIST → USPS; MNIST + FashionMNIST as 20
# classes) and leaves out the costly DC/DSA memories; its tables name the substitute and never
# put it beside a thesis number. Where the thesis is silent (batch, optimiser, normalisation, how
# the fine-tuning set is drawn) `dc_lib.runs.continual`'s docstrings say what we chose.

# %% tags=["parameters"]
PROFILE = "smoke"  # smoke (seconds) | cpu (substitute streams, reduced) | paper (thesis streams, GPU)
SEED = 0  # one seed drives the class orders' networks, the memories and the batches
DEVICE = "auto"  # auto (CUDA if available) | cpu | cuda
DATA_ROOT = None  # folder with the npz files or torchvision data; None: env DC_DATA_ROOT, else ./data
RESULTS_DIR = "../results"  # tables, figures and tidy CSVs go to RESULTS_DIR/continual/PROFILE

# %%
from pathlib import Path

import matplotlib.pyplot as plt

from dc_lib.core.config import CONTINUAL, notebook_profile
from dc_lib.core.seeding import resolve_device
from dc_lib.runs.plotting import plot_incremental, save_figure
from dc_lib.thesis import continual_runs

profile = notebook_profile(PROFILE)
plan = CONTINUAL[profile]
out_dir = Path(RESULTS_DIR) / "continual" / profile
device = resolve_device(DEVICE)
progress = profile != "smoke"  # no progress bars in smoke, whose outputs the tests re-create
print(f"profile: {profile}; E2E/EEIL on {'>'.join(plan.eeil_stream)}, GDumb on {'+'.join(plan.gdumb_datasets)}")

# %% [markdown]
# ## Task-incremental: E2E/EEIL with herding and condensed memories
#
# The thesis: with a DSA memory the learner ends at 94.4 % after the third task without KD,
# 1.4 points above DC and 3.7 above herding (Fig. 4.3); DC leads herding by 2.3 points (Fig. 3.4).
#
# *Stored output: smoke run, not results.*

# %%
eeil, eeil_not_run = continual_runs.run_plan("eeil", profile, out_dir, root=DATA_ROOT, device=device, seed=SEED,
                                             progress=progress)
print(continual_runs.write_markdown("eeil", profile, out_dir, eeil, eeil_not_run))
fig = plot_incremental(eeil, title=f"E2E/EEIL, {'>'.join(plan.eeil_stream)}")
save_figure(fig, out_dir / "figure_eeil.png")
plt.show()

# %% [markdown]
# ## Class-incremental: GDumb with random, herding and condensed memories
#
# The thesis (CIFAR-100, 20 images per class): after the last step DM reaches 34.4 / 34.6 % (5 / 10
# steps), DSA 31.7 / 30.5, herding 28.2 / 27.4, random 24.8 / 24.8. DM and random do not depend on
# how the classes are split; herding and DSA, which see one step's classes at a time, lose with more steps.
#
# *Stored output: smoke run, not results.*

# %%
gdumb, gdumb_not_run = continual_runs.run_plan("gdumb", profile, out_dir, root=DATA_ROOT, device=device,
                                               seed=SEED, progress=progress)
print(continual_runs.write_markdown("gdumb", profile, out_dir, gdumb, gdumb_not_run))
fig = plot_incremental(gdumb, title=f"GDumb, {'+'.join(plan.gdumb_datasets)}")
save_figure(fig, out_dir / "figure_gdumb.png")
plt.show()
