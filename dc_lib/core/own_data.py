"""Your own data, without editing the library: image folders, .npz files, arrays.

:func:`load_data` turns a source into a :class:`~dc_lib.core.data.RealData` and registers
it by name (:func:`dc_lib.core.data.register_dataset`), so ``load_dataset(name)``, the
condensation functions, ``evaluate_set`` and the Runner all find it.

Sources:

* a directory of class sub-folders (torchvision ImageFolder conventions, any image
  Pillow reads), either ``DIR/train/<class>/`` + ``DIR/test/<class>/`` (split given)
  or ``DIR/<class>/`` (split made here: seeded, stratified, ``test_fraction``);
* an ``.npz`` in the ``../shared/data`` format (uint8 ``x_train, y_train, x_test, y_test``);
* the name of a known dataset (delegates to :func:`dc_lib.core.data.load_dataset`);
* a dict of in-memory arrays ``{"x_train", "y_train", "x_test", "y_test"}``.

Normalisation mean/std are computed from the training split.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from .data import DATASETS, DatasetInfo, RealData, check_ipc, load_dataset, register_dataset, resolve_path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class DataInputError(ValueError):
    """Input data that cannot be used; the message names the file or class and what to do."""


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _class_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _read_image(path: Path, resize, mode: str | None):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            if mode is not None:
                im = im.convert(mode)
            elif im.mode not in ("L", "RGB"):
                # alpha/16-bit grey -> L; palette, alpha colour, CMYK -> RGB
                im = im.convert("L" if im.mode in ("LA", "I", "I;16", "F", "1") else "RGB")
            if resize is not None:
                im = im.resize((int(resize[1]), int(resize[0])), Image.BILINEAR)
            return np.asarray(im, dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise DataInputError(f"{path}: unreadable or corrupted image ({type(err).__name__}); "
                             "delete or replace the file") from None


def _read_classes(folder: Path, classes: list[str] | None, resize, mode):
    """Read every ``folder/<class>/<image>``; returns (images list, labels list, files, classes)."""
    sub = _class_folders(folder)
    names = [p.name for p in sub]
    if classes is not None and names != classes:
        raise DataInputError(f"{folder}: classes {names} differ from the training classes {classes}; "
                             "train/ and test/ need the same class folders")
    images, labels, files = [], [], []
    for c, d in enumerate(sub):
        found = _image_files(d)
        if not found:
            raise DataInputError(f"class {d.name!r} ({d}) has no images; add images or remove the folder")
        for f in found:
            images.append(_read_image(f, resize, mode))
            labels.append(c)
            files.append(f)
    return images, labels, files, names


def _stack(images, files) -> np.ndarray:
    """Stack images of one shape; a clear error for mixed sizes or mixed grey/colour."""
    first = images[0]
    for im, f in zip(images, files):
        if im.ndim != first.ndim:
            grey, colour = (files[0], f) if first.ndim == 2 else (f, files[0])
            raise DataInputError(f"mixed grayscale and colour images: {grey} is grayscale, {colour} is colour; "
                                 "convert them all (mode='RGB' or mode='L', CLI --mode RGB)")
        if im.shape[:2] != first.shape[:2]:
            raise DataInputError(f"mixed image sizes: {files[0]} is {first.shape[1]}x{first.shape[0]}, "
                                 f"{f} is {im.shape[1]}x{im.shape[0]} (WxH); pass resize=(H, W) "
                                 "(CLI --resize HxW) to bring them to one size")
    return np.stack(images)


def _split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified split: indices (train, test), at least one train image per class."""
    if not 0.0 < test_fraction < 1.0:
        raise DataInputError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.nonzero(y == c)[0])
        n_test = min(int(round(test_fraction * idx.size)), idx.size - 1)
        test.extend(idx[:n_test])
        train.extend(idx[n_test:])
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(test, dtype=np.int64))


def read_folder(folder: str | os.PathLike, *, test_fraction: float = 0.2, seed: int = 0,
                resize: tuple[int, int] | None = None, mode: str | None = None):
    """Read an image folder into uint8 arrays.

    Returns ``(arrays, classes)``: ``arrays`` holds ``x_train (N,H,W)`` or ``(N,H,W,3)``
    uint8, ``y_train (N,)`` int64, likewise ``x_test, y_test``; ``classes`` the folder
    names in label order. ``mode``: None keeps grey/colour (mixing them is an error),
    ``"L"`` or ``"RGB"`` converts every image.
    """
    folder = resolve_path(folder)
    if not folder.is_dir():
        raise DataInputError(f"{folder}: no such directory")
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        xs, ys, fs, classes = _read_classes(folder / "train", None, resize, mode)
        xt, yt, ft, _ = _read_classes(folder / "test", classes, resize, mode)
        n = len(xs)
        x = _stack(xs + xt, fs + ft)
        arrays = {"x_train": x[:n], "y_train": np.array(ys, np.int64),
                  "x_test": x[n:], "y_test": np.array(yt, np.int64)}
    else:
        if not _class_folders(folder):
            raise DataInputError(f"{folder}: no class sub-folders found; put the images of each class "
                                 "in their own folder, DIR/<class>/<image>")
        xs, ys, fs, classes = _read_classes(folder, None, resize, mode)
        x, y = _stack(xs, fs), np.array(ys, np.int64)
        tr, te = _split(y, test_fraction, seed)
        arrays = {"x_train": x[tr], "y_train": y[tr], "x_test": x[te], "y_test": y[te]}
    if len(classes) < 2:
        raise DataInputError(f"{folder}: only one class ({classes[0]!r}); a classifier needs at least "
                             "two class folders")
    return arrays, classes


def _mean_std(x_train: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    x = x_train.astype(np.float64) / 255.0
    axes = (0, 1, 2)
    x = x[..., None] if x.ndim == 3 else x
    std = x.std(axis=axes)
    return tuple(float(v) for v in x.mean(axis=axes)), tuple(float(max(v, 1e-6)) for v in std)


def register_arrays(arrays: dict, name: str, classes=None, source: str = "memory") -> DatasetInfo:
    """Register uint8 arrays ``x_train (N,H,W[,3]), y_train (N,), x_test, y_test`` under ``name``.

    Mean/std come from ``x_train``; returns the registered DatasetInfo.
    """
    arrays = {k: np.asarray(arrays[k]) for k in ("x_train", "y_train", "x_test", "y_test")}
    for k in ("x_train", "x_test"):
        if arrays[k].dtype != np.uint8:
            raise DataInputError(f"{source}: {k} must be uint8 pixels 0..255, got {arrays[k].dtype}")
        if arrays[k].ndim not in (3, 4) or (arrays[k].ndim == 4 and arrays[k].shape[-1] not in (1, 3)):
            raise DataInputError(f"{source}: {k} must be (N,H,W) or (N,H,W,3), got {arrays[k].shape}")
    if arrays["x_train"].ndim == 4 and arrays["x_train"].shape[-1] == 1:
        arrays["x_train"], arrays["x_test"] = arrays["x_train"][..., 0], arrays["x_test"][..., 0]
    num_classes = int(max(arrays["y_train"].max(), arrays["y_test"].max())) + 1
    classes = tuple(str(c) for c in (classes if classes is not None else range(num_classes)))
    if num_classes < 2:
        raise DataInputError(f"{source}: only one class; a classifier needs at least two")
    x = arrays["x_train"]
    mean, std = _mean_std(x)
    info = DatasetInfo(name, 1 if x.ndim == 3 else 3, tuple(x.shape[1:3]), len(classes), mean, std,
                       npz_files=(), torchvision_name=None, classes=classes)
    return register_dataset(info, lambda: (arrays, source, ""))


def load_data(source, name: str | None = None, *, test_fraction: float = 0.2, seed: int = 0,
              resize: tuple[int, int] | None = None, mode: str | None = None,
              device: str | torch.device = "cpu") -> RealData:
    """Load ``source`` (folder, .npz path, dataset name or dict of arrays) as RealData on ``device``.

    ``name`` defaults to the folder/file stem (``"own"`` for arrays). The dataset is
    registered under it, so ``load_dataset(name)`` works afterwards in this process.
    ``resize=(H, W)`` brings folder images to one size. Raises DataInputError for bad input.
    """
    if isinstance(source, dict):
        info = register_arrays(source, name or "own", source="memory")
        return load_dataset(info.name, device=device)
    text = str(source)
    path = resolve_path(text)
    if path.is_dir():
        arrays, classes = read_folder(path, test_fraction=test_fraction, seed=seed, resize=resize, mode=mode)
        info = register_arrays(arrays, name or path.name, classes, source=f"folder:{path}")
    elif path.suffix == ".npz":
        if not path.is_file():
            raise DataInputError(f"{path}: no such file")
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in ("x_train", "y_train", "x_test", "y_test")}
        except KeyError as err:
            raise DataInputError(f"{path}: missing array {err}; need x_train, y_train, x_test, y_test") from None
        except Exception as err:
            raise DataInputError(f"{path}: not a readable .npz ({type(err).__name__})") from None
        known = path.stem.lower().replace("_", "").replace("-", "")
        info = register_arrays(arrays, name or (known if known not in DATASETS else known + "npz"),
                               source=f"npz:{path}")
    else:
        key = text.lower().replace("_", "").replace("-", "")
        if key not in DATASETS:
            raise DataInputError(f"{text}: not a folder, not an .npz file and not a known dataset "
                                 f"({', '.join(DATASETS)})")
        return load_dataset(key, device=device)
    return load_dataset(info.name, device=device)


def check_class_sizes(real: RealData, ipc: int) -> None:
    """Raise DataInputError naming every class with fewer than ``ipc`` training images
    (:func:`dc_lib.core.data.check_ipc`, as the error type of bad input)."""
    try:
        check_ipc(real, ipc)
    except ValueError as err:
        raise DataInputError(str(err)) from None

def export_image_folder(name: str, folder: str | os.PathLike, *, root: str | os.PathLike | None = None,
                        per_class: int | None = None) -> Path:
    """Write a known dataset (e.g. ``usps``) as PNG files, ``folder/{train,test}/<class>/<n>.png``.

    The route a student's own images take, with a dataset at hand (notebook 06). ``per_class``
    keeps the first N training and N // 4 test images of each class (None: all). An existing
    ``folder`` is kept as it is; the files are written to a temporary sibling folder and renamed
    at the end, so an interrupted export leaves no half-written dataset behind.
    """
    from PIL import Image

    from .data import canonical_name, load_arrays

    folder = resolve_path(folder)
    if folder.is_dir():
        return folder
    arrays, _, _ = load_arrays(name, root)
    classes = DATASETS[canonical_name(name)].class_names()
    tmp = folder.with_name(folder.name + ".partial")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    for split, limit in (("train", per_class), ("test", None if per_class is None else max(1, per_class // 4))):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        for c, cname in enumerate(classes):
            (tmp / split / cname).mkdir(parents=True)
            for n, i in enumerate(np.flatnonzero(y == c)[:limit]):
                Image.fromarray(x[i]).save(tmp / split / cname / f"{n:05d}.png")
    tmp.rename(folder)
    return folder
