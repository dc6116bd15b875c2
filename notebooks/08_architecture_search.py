# %% [markdown]
# # Neural architecture search with condensed proxy sets (Tables 3.4, 4.6, 5.5)
#
# > **The outputs stored in this notebook are a `smoke` run** (seconds; what CI and nbval check):
# > their numbers are meaningless. `./reproduce.sh nas --profile cpu` writes the reduced run into
# > `results/nas/cpu/`.
#
# The thesis's second application: a small set trains a candidate architecture in seconds, so it
# can rank hundreds of them. The search space is the modular ConvNet (width, depth, normalisation,
# activation, pooling: 720 candidates). Each candidate trains on a **proxy** (random real images,
# herding, a DC/DSA/DM set, or *early stopping*: the whole training set for as many SGD steps) and
# is scored on a validation split carved from the training set. A proxy is good if it ranks the
# candidates as whole-set training does: Spearman's rank correlation over the proxy's top
# candidates (the thesis's statistic; we also report it over all candidates), and the test
# accuracy of the architecture it selects, retrained on the whole training split. The thesis
# (Table 5.5, CIFAR-10, 50 images per class): DM's ranking correlates 0.76 with the whole set's,
# DSA 0.68, early stopping 0.11, random −0.04.
#
# CIFAR-10 is here only as a lossy JPEG copy, and the ground truth (720 networks × 100 whole-set
# epochs) is GPU-days; the `cpu` profile searches a seeded sample of the space on FashionMNIST
# with a shortened ground-truth schedule, a substitute that its table names as such.

# %% tags=["parameters"]
PROFILE = "smoke"  # smoke (seconds) | cpu (FashionMNIST, a sample of the space, reduced) | paper (thesis, GPU)
SEED = 0  # one seed drives the sample of candidates, the split, the proxies and every network
DEVICE = "auto"  # auto (CUDA if available) | cpu | cuda
DATA_ROOT = None  # folder with the npz files or torchvision data; None: env DC_DATA_ROOT, else ./data
RESULTS_DIR = "../results"  # tables, figures and tidy CSVs go to RESULTS_DIR/nas/PROFILE

# %%
from pathlib import Path

import matplotlib.pyplot as plt

from dc_lib.core.config import NAS, notebook_profile
from dc_lib.core.seeding import resolve_device
from dc_lib.runs.nas import proxy_scores, top_k
from dc_lib.runs.plotting import plot_proxy_scatter, save_figure
from dc_lib.runs.results import ResultStore
from dc_lib.thesis import nas_runs

profile = notebook_profile(PROFILE)
plan = NAS[profile]
out_dir = Path(RESULTS_DIR) / "nas" / profile
progress = profile != "smoke"  # no progress bars in smoke, whose outputs the tests re-create
print(f"profile: {profile}; {plan.dataset}, {plan.candidates or 720} candidates, proxies {', '.join(plan.proxies)}")

# %% [markdown]
# ## The search
#
# Every candidate is trained on every proxy and on the whole training split (one row per
# candidate and proxy in `results.csv`, so a rerun trains no finished candidate again).
#
# *Stored output: smoke run, not results.*

# %%
summary, notes = nas_runs.run_plan(profile, out_dir, root=DATA_ROOT, device=resolve_device(DEVICE), seed=SEED,
                                   progress=progress)
nas_runs.markdown(profile, summary, notes, out_dir)  # table_nas.md, with the thesis's numbers and the times
# The wall times vary from run to run, so they are in the markdown file, not printed here.
print(summary.drop(columns="time_min", errors="ignore").round(2).to_string(index=False) if len(summary) else notes)

# %% [markdown]
# ## Proxy against whole-set accuracy
#
# Each point is a candidate; red points are the proxy's own top-k, over which the thesis computes
# Spearman's correlation.

# %%
rows = ResultStore(out_dir / "results.csv").load()
proxies = [*plan.proxies, "early_stopping"]
k = dict(zip(summary.proxy, summary.k)) if len(summary) else {}
top = {p: top_k(proxy_scores(rows, p), k[p]) for p in proxies if p in k}
fig = plot_proxy_scatter(rows, proxies, top, title=f"{plan.dataset} ({profile} profile)")
save_figure(fig, out_dir / "figure_nas.png")
plt.show()
