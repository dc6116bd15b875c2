# %% [markdown]
# # Chapter 4: Differentiable Siamese augmentation (DSA)
#
# Data augmentation is the standard cure for training on little data, but applying it naively
# to DC breaks gradient matching: a randomly transformed synthetic image no longer corresponds to
# the real batch it is matched against. DSA applies **the same randomly sampled transformation**
# $\mathcal{A}_\omega$ to the real batch and to the synthetic images of a class, and keeps it
# differentiable so the gradient flows back to the synthetic pixels:
#
# $$\min_{\mathcal{S}}\ D\big(\nabla_\theta\mathcal{L}(\mathcal{A}_\omega(\mathcal{S}_c);\theta),\ \nabla_\theta\mathcal{L}(\mathcal{A}_\omega(\mathcal{B}_c);\theta)\big).$$
#
# The transformations are colour jitter, crop, cutout, flip, scale and rotation, one drawn per
# match (`dc_lib.augment`). DSA is DC with this augmentation switched on
# (`condense_gm(..., dsa_strategy=...)`), initialised from real images, and its sets are used
# with the same (independent, per-image) augmentation when training evaluation networks.

# %% tags=["parameters"]
PROFILE = "smoke"  # smoke (seconds) | cpu (reduced, 2 cores) | paper (thesis protocol, GPU)
DATASETS = None  # Table 4.1 datasets as a list, e.g. mnist and fashionmnist; None = the profile plan
IPCS = None  # Table 4.1 images per class as a list, e.g. 1, 10 and 50; None = the profile plan
SEED = 0  # one seed drives every set, network and augmentation: same seed, same numbers
DEVICE = "auto"  # auto (CUDA if available) | cpu | cuda
DATA_ROOT = None  # folder with the npz files or torchvision data; None = env DC_DATA_ROOT, else ./data
RESULTS_DIR = "../results"  # tables, figures and tidy CSVs go to RESULTS_DIR/chapter4/PROFILE

# %%
from pathlib import Path

import matplotlib.pyplot as plt

from dc_lib import chapter4
from dc_lib.config import get_profile, gm_iterations
from dc_lib.experiments import Runner
from dc_lib.plotting import plot_synsets, save_figure

profile = get_profile(PROFILE)
out_dir = Path(RESULTS_DIR) / "chapter4" / profile.name
runner = Runner(profile, out_dir, data_root=DATA_ROOT, device=DEVICE, seed=SEED)
print(f"profile: {profile.name} -- {profile.description}")
print(f"budget:  {profile.budget()}; DC/DSA K={profile.gm_iterations} at 1 ipc, {gm_iterations(profile, 10)} above")

# %% [markdown]
# ## Table 4.1: DSA next to random selection and DC

# %%
summary_4_1, not_run_4_1 = chapter4.table_4_1(runner, DATASETS, IPCS)
print(chapter4.write_table(runner, "4.1", summary_4_1, not_run_4_1, "Table 4.1: DSA vs random and DC"))

# %% [markdown]
# ## Figure 4.2: DSA images
#
# Initialised from real images, DSA keeps their pose and colour and adds class-typical detail.

# %%
fig = plot_synsets(chapter4.figure_4_2_sets(runner))
save_figure(fig, out_dir / "figure_4.2.png")
plt.show()

# %% [markdown]
# ## Reading the results
#
# `results/chapter4/<profile>/table_4.1.md` puts each reproduced number next to the thesis number.
# The thesis finds DSA's gain over DC largest at 10 and 50 images per class.
