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
out_dir = Path(RESULTS_DIR) / "nas" / profile
progress = profile != "smoke"  # no progress bars in smoke, whose outputs the tests re-create
for plan in NAS[profile]:
    print(f"Table {plan.table} ({profile}): {plan.dataset}, {plan.candidates or 'all'} candidates"
          f"{' of widths ' + '/'.join(map(str, plan.widths)) if plan.widths else ''}, proxies {', '.join(plan.proxies)}"
          f" at {plan.ipc} ipc, {plan.proxy_epochs} proxy epochs, ground truth {plan.whole_epochs} epochs")

# %% [markdown]
# ## The searches
#
# Every candidate is trained on every proxy and on the whole training split (one row per
# candidate and proxy in `results.csv`, written as soon as the candidate finishes, so a rerun
# trains no finished candidate again). On a CPU two candidates train at once, one per core.
#
# *Stored output: smoke run, not results.*

# %%
# Candidates are not compiled (torch.compile): a new architecture per training would pay its compilation each time.
searches = nas_runs.run_profile(profile, out_dir, root=DATA_ROOT, device=resolve_device(DEVICE), seed=SEED,
                                progress=progress)
for plan, summary, notes in searches:
    # The wall times vary from run to run, so they are in table_<table>_nas.md, not printed here.
    print(f"Table {plan.table}:", *notes)
    print(summary.drop(columns="time_min", errors="ignore").round(2).to_string(index=False) if len(summary) else "")

# %% [markdown]
# ## Proxy against whole-set accuracy
#
# Each point is a candidate; red points are the proxy's own top-k, over which the thesis computes
# Spearman's correlation. A good proxy puts its top-k in the top right.

# %%
rows = ResultStore(out_dir / "results.csv").load()
for plan, summary, notes in searches:
    table_rows = rows[(rows.table == f"{plan.table}-nas") & (rows.budget == plan.training_budget())] if len(rows) else rows
    proxies = [*plan.proxies, "early_stopping"]
    k = dict(zip(summary.proxy, summary.k)) if len(summary) else {}
    top = {p: top_k(proxy_scores(table_rows, p), k[p]) for p in proxies if p in k}
    fig = plot_proxy_scatter(table_rows, proxies, top, title=f"Table {plan.table}: {plan.dataset} ({profile} profile)")
    save_figure(fig, out_dir / f"figure_{plan.table}_nas.png")
    plt.show()
