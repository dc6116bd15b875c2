# %% [markdown]
# # Your own data: from a folder of images to a condensed set, without editing the library
#
# The route a student takes with their own images: a **folder** of class sub-folders (the
# torchvision `ImageFolder` layout, any format Pillow reads) → a **dataset** → **condense** →
# **look** at the images → **evaluate** against random real images → **save** → **load** →
# **evaluate again**. Point `IMAGE_FOLDER` at your folder and rerun; nothing else needs to change.
#
# With `IMAGE_FOLDER = None` the notebook first writes a folder itself, from USPS (`usps.npz` in
# the data root: 7,291 training and 2,007 test digits of 16 × 16 pixels, exact copy), as PNG files
# under `train/<digit>/` and `test/<digit>/`.
#
# The stored outputs are a `smoke` run (seconds, meaningless numbers): the test suite re-executes
# the notebook with `PROFILE` forced to `smoke`. The default `cpu` profile (DM with K = 1000,
# 5 networks × 300 epochs, reduced from the thesis's 20000 and 20 × 1000) takes about ten minutes
# on two CPU cores for USPS at 10 images per class.

# %% tags=["parameters"]
IMAGE_FOLDER = None  # your folder: DIR/<class>/*.png, or DIR/train/<class>/ + DIR/test/<class>/; None: a USPS demo
PROFILE = "cpu"  # cpu: reduced budget, ~10 min on 2 cores for USPS | smoke: seconds | paper: thesis budget (GPU)
METHOD = "dm"  # dm | dc | dsa | random | herding | kcenter | forgetting
IPC = 10  # images per class of the small set; every class needs at least this many training images
DSA_STRATEGY = "color_crop_cutout_scale_rotate"  # augmentation: no flip for digits/text; add _flip for photos
RESIZE = None  # None, or a size such as (32, 32) when your images differ in size
TEST_FRACTION = 0.2  # share of each class held out for testing when the folder has no train/ and test/
SEED = 0  # one seed drives the split, the set, the random draws and every network
DEVICE = "auto"  # auto (CUDA if available) | cpu | cuda
DATA_ROOT = None  # where usps.npz is (only for the demo folder); None: env DC_DATA_ROOT, else ./data
RESULTS_DIR = "../results"  # the set, its PNG, tidy CSV and table go to RESULTS_DIR/own_data/PROFILE

# %%
from pathlib import Path

import matplotlib.pyplot as plt

from dc_lib.core.config import OWN_DATA, notebook_profile, small_run
from dc_lib.core.own_data import export_image_folder, load_data
from dc_lib.core.seeding import resolve_device
from dc_lib.core.synset import SyntheticSet
from dc_lib.engines.choose import evaluate_set
from dc_lib.engines.evaluation import EvalConfig
from dc_lib.methods.condense import condense_to
from dc_lib.runs.comparison import against_random, comparison_rows
from dc_lib.runs.plotting import plot_accuracy_bars, plot_synsets, save_figure
from dc_lib.runs.results import ResultStore, summarise, write_summary

profile = notebook_profile(PROFILE)
run = small_run(OWN_DATA, profile)
out_dir = Path(RESULTS_DIR) / "own_data" / profile
progress = profile != "smoke"  # no progress bars in smoke, whose outputs the tests re-create
print(f"profile: {profile} -- {'reduced' if profile != 'paper' else 'thesis'} budget {run.budget()}")

# %% [markdown]
# ## 1. A folder of images
#
# Any folder with one sub-folder per class works. The demo writes USPS as PNG files; in smoke it
# keeps the first 40 training images of each class so the run takes seconds.

# %%
if IMAGE_FOLDER is None:
    folder = export_image_folder("usps", out_dir / "usps_png", root=DATA_ROOT,
                                 per_class=40 if profile == "smoke" else None)
else:
    folder = Path(IMAGE_FOLDER)
print(f"image folder: {folder.name}/ with {', '.join(sorted(p.name for p in folder.iterdir() if p.is_dir()))}")

# %% [markdown]
# ## 2. The folder as a dataset
#
# `load_data` reads every image, infers the channels, size and class names, splits off a seeded,
# stratified test share if the folder has no `train/` and `test/`, computes the normalisation
# mean and std from the training split, and registers the dataset under the folder's name, so the
# rest of `dc_lib` treats it like MNIST. Bad input (an empty folder, one class, a corrupted file,
# mixed sizes) stops here with one message that names the file or class.

# %%
real = load_data(folder, test_fraction=TEST_FRACTION, seed=SEED, resize=RESIZE, device=resolve_device(DEVICE))
info = real.info
print(f"{info.name}: {len(real.y_train)} training / {len(real.y_test)} test images, {info.channel} channel(s) of "
      f"{info.im_size[0]}x{info.im_size[1]}, {info.num_classes} classes {list(info.class_names())}")
print(f"mean {tuple(round(m, 3) for m in info.mean)}, std {tuple(round(s, 3) for s in info.std)} (training split)")

# %% [markdown]
# ## 3. Condense, and look at the result
#
# `condense_to` makes the set with the chosen method and budget and saves it as a self-describing
# file (images, labels, class names, normalisation, config, seed, library version) with a PNG grid
# beside it. An interrupted run resumes from its checkpoint when rerun; a finished set is reused.

# %%
set_path = out_dir / f"{info.name}_{METHOD}_ipc{IPC}.pt"
syn = condense_to(set_path, real, METHOD, IPC, run, seed=SEED, strategy=DSA_STRATEGY, progress=progress)
print(f"{METHOD}: {syn.images.shape[0]} images, K = {syn.iteration}, saved as {set_path.name}")
fig = plot_synsets([syn])
plt.show()

# %% [markdown]
# ## 4. Evaluate against random real images
#
# Fresh ConvNets are trained on the small set and tested on the real test split, beside networks
# trained on random real images of the same size (one random draw per network, since a random
# baseline depends on its draw). Every accuracy is written to a tidy CSV; the table is made from it.

# %%
accuracies = against_random(syn, real, nets=run.nets, epochs=run.epochs, strategy=DSA_STRATEGY, seed=SEED,
                            test_limit=run.test_limit, progress=progress)
store = ResultStore(out_dir / "results.csv")
store.append(comparison_rows(syn, accuracies, table="own_data", profile=profile, budget=run.budget(),
                             data_source=real.source, seed=SEED))
summary = summarise(store.load())
summary = summary[summary.dataset == info.name]
write_summary(summary, out_dir, f"table_{info.name}", title=f"{METHOD} vs random on {info.name}, {IPC} ipc",
              profile_line=f"Profile `{profile}` ({run.budget()}); a dataset of your own has no thesis number.")
print(summary[["method", "ipc", "n", "mean", "std"]].round(1).to_string(index=False))
fig = plot_accuracy_bars(summary, title=f"{info.name}, {IPC} images per class ({profile} profile)")
save_figure(fig, out_dir / f"figure_{info.name}.png")
plt.show()

# %% [markdown]
# ## 5. Load the saved set and evaluate it again
#
# The file is all a colleague needs: `SyntheticSet.load` reads it safely (no pickled code), and
# `check_matches` refuses it if it was made for other data. Same seed, same protocol: the
# networks trained on the loaded set reach exactly the accuracies above.

# %%
loaded = SyntheticSet.load(set_path)
loaded.check_matches(real, ipc=IPC, method=METHOD, where=str(set_path.name))
protocol = EvalConfig(epochs=run.epochs, num_nets=run.nets, strategy=DSA_STRATEGY, test_limit=run.test_limit)
again = evaluate_set(loaded.images.to(real.device), loaded.labels.to(real.device), real, protocol, seed=SEED,
                     progress=progress)
print(f"loaded {loaded.method} set of {loaded.dataset} ({loaded.dc_lib_version}): "
      f"{', '.join(f'{a:.1f}' for a in again)} %; same as before: {again == accuracies['set']}")

# %% [markdown]
# ## The same from the command line
#
# ```bash
# dc-lib condense --data path/to/folder --method dm --ipc 10 --out sets/
# dc-lib evaluate sets/folder_dm_ipc10.pt --data path/to/folder --out sets/
# dc-lib show sets/folder_dm_ipc10.pt
# ```
#
# `dc-lib condense --help` lists the options (`--resize`, `--mode`, `--profile`, `--iterations`).
