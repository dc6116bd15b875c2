"""Real datasets as normalised tensors, with a per-class index.

Sources, tried in this order for each dataset under one *data root*:

1. a compact ``<root>/<file>.npz`` (uint8 ``x_train, y_train, x_test, y_test``,
   images ``(N,H,W)`` or ``(N,H,W,3)``) -- the format of ``../shared/data``;
   for ImageNet-1K also a torchvision ``ImageFolder``-style folder ``<root>/imagenet64/{train,val}/<class>/``
   (:mod:`dc_lib.core.image_folders`, resized to 64x64 on reading);
2. the Debian package ``dataset-fashion-mnist`` (FashionMNIST only);
3. torchvision's own files under ``<root>``, downloaded when ``download`` is on
   and the machine is online.

The data root is the ``root`` argument, else the ``DC_DATA_ROOT`` environment
variable, else ``./data``. A relative root is relative to the directory the user
typed the command in (``$PWD``, which a notebook kernel or subprocess started with
another working directory still inherits), not to the kernel's working directory.
Datasets registered at run time (:func:`register_dataset`, e.g. an image folder
through :mod:`dc_lib.core.own_data`) are found by name before any file. Whether torchvision may download is the ``download``
argument, else ``DC_DOWNLOAD`` (``0``/``1``), else yes.

Images are normalised with the authors' per-dataset channel mean/std
(hyperparameters.md section 7) and kept in normalised space, as their code does.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .checks import positive_int
from .image_folders import read_image_folders, split_folders
from .transfer import to_device


class DatasetNotFoundError(FileNotFoundError):
    """Raised when no source of a dataset exists; the message says how to get it."""


class DatasetFileError(ValueError):
    """Raised when a dataset source exists but holds unusable data; the message names
    the source, the field and the fix (loading it anyway would train on wrong data silently)."""


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about a dataset: shape, classes and normalisation constants."""

    name: str
    channel: int
    im_size: tuple[int, int]
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    npz_files: tuple[str, ...]  # candidate file names under the data root, best first
    torchvision_name: str | None  # class in torchvision.datasets, if any
    classes: tuple[str, ...] = ()  # class names, index = label; () -> "0", "1", ...
    folders: tuple[str, ...] = ()  # image-folder datasets under the data root (train/ and val/ inside)

    def class_names(self) -> tuple[str, ...]:
        """Names of the classes, label order (the label itself where none are known)."""
        return self.classes or tuple(str(c) for c in range(self.num_classes))


_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)

DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in [
        DatasetInfo("mnist", 1, (28, 28), 10, (0.1307,), (0.3081,), ("mnist.npz",), "MNIST"),
        DatasetInfo("fashionmnist", 1, (28, 28), 10, (0.2861,), (0.3530,),
                    ("fashion_mnist.npz", "fashionmnist.npz"), "FashionMNIST"),
        # USPS constants: the commonly used torchvision-USPS statistics (the
        # authors' code has no USPS entry; SOURCES.md confirms these values).
        DatasetInfo("usps", 1, (16, 16), 10, (0.2469,), (0.2989,), ("usps.npz",), "USPS"),
        DatasetInfo("svhn", 3, (32, 32), 10, (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970),
                    ("svhn.npz",), "SVHN"),
        # cifar10_jpeg.npz is a lossy JPEG copy: accepted as a fallback, flagged as lossy.
        DatasetInfo("cifar10", 3, (32, 32), 10, (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010),
                    ("cifar10.npz", "cifar10_jpeg.npz"), "CIFAR10"),
        DatasetInfo("cifar100", 3, (32, 32), 100, (0.5071, 0.4866, 0.4409), (0.2673, 0.2564, 0.2762),
                    ("cifar100.npz",), "CIFAR100"),
        DatasetInfo("tinyimagenet", 3, (64, 64), 200, _IMAGENET_MEAN, _IMAGENET_STD,
                    ("tinyimagenet.npz", "tiny_imagenet.npz"), None),
        # ImageNet-1K at 64x64, the thesis's setting (section 5.3.1: "resized to 64x64"; a 4-block
        # ConvNet): an .npz of the downsampled set, or the ILSVRC folders (resized on reading).
        # The whole training split is ~1.28M images: 15.7 GB as uint8, 63 GB once normalised to float32.
        DatasetInfo("imagenet1k", 3, (64, 64), 1000, _IMAGENET_MEAN, _IMAGENET_STD,
                    ("imagenet64.npz", "imagenet1k.npz"), None, folders=("imagenet64", "imagenet1k")),
    ]
}

LOSSY_FILES = {"cifar10_jpeg.npz": "lossy JPEG copy of CIFAR-10 (q75, 4:2:0); expect lower accuracy"}
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


# name -> loader returning (arrays, source, note), for datasets registered at run time.
_REGISTERED: dict[str, Callable[[], tuple[dict[str, np.ndarray], str, str]]] = {}


def canonical_name(name: str) -> str:
    """Map user spellings (``FashionMNIST``, ``fashion_mnist``, ``CIFAR-10``) to a key of DATASETS."""
    key = name.lower().replace("_", "").replace("-", "")
    if key not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}. Valid datasets: {', '.join(DATASETS)}")
    return key


def register_dataset(info: DatasetInfo,
                     loader: Callable[[], tuple[dict[str, np.ndarray], str, str]]) -> DatasetInfo:
    """Make a dataset loadable by name (``load_dataset(info.name)``) without editing this module.

    ``loader()`` returns ``(arrays, source, note)`` like :func:`load_arrays`: uint8
    ``x_train, y_train, x_test, y_test``. The name is normalised like every other
    (lower case, no ``_``/``-``); registering a name again replaces the entry.
    """
    key = info.name.lower().replace("_", "").replace("-", "")
    if not key:
        raise ValueError("a registered dataset needs a name")
    info = replace(info, name=key)
    DATASETS[key] = info
    _REGISTERED[key] = loader
    return info


def resolve_path(path: str | os.PathLike) -> Path:
    """``path`` made absolute against the directory the user typed the command in.

    That is ``$PWD`` when it is set to a directory (a shell sets it where the user typed;
    a Jupyter kernel or papermill's ``--cwd`` changes the working directory but keeps the
    parent's ``$PWD``), else the process's working directory.
    """
    path = Path(path).expanduser()
    if path.is_absolute():
        return path
    typed_in = os.environ.get("PWD", "")
    base = Path(typed_in) if typed_in and Path(typed_in).is_dir() else Path.cwd()
    return (base / path).resolve()


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root, absolute: ``root`` if given, else $DC_DATA_ROOT, else ./data (see module doc)."""
    return resolve_path(root if root is not None else os.environ.get("DC_DATA_ROOT", "data"))


@dataclass
class RealData:
    """One dataset split pair on a device, normalised, with a per-class index.

    Attributes:
        info: the DatasetInfo.
        x_train, x_test: float32 ``(N, C, H, W)``, normalised.
        y_train, y_test: int64 ``(N,)``.
        indices_class: list of int64 tensors, the training indices of each class
            (on the same device, for fast class-conditional sampling).
        source: where the data came from, e.g. ``npz:/path/mnist.npz``.
        note: caveat to carry into results (e.g. the lossy CIFAR-10 copy), or "".
    """

    info: DatasetInfo
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    source: str
    note: str = ""
    indices_class: list[torch.Tensor] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.indices_class:
            self.indices_class = [
                torch.nonzero(self.y_train == c).flatten() for c in range(self.info.num_classes)
            ]

    @property
    def device(self) -> torch.device:
        return self.x_train.device

    def class_count(self, c: int) -> int:
        return int(self.indices_class[c].numel())

    def sample_class(self, c: int, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` random training images of class ``c`` without replacement, ``(n, C, H, W)``.

        If the class has fewer than ``n`` images, all of them are returned.
        The permutation is drawn on the CPU from ``generator`` so runs repeat exactly.
        """
        idx = self.indices_class[c]
        perm = to_device(torch.randperm(idx.numel(), generator=generator)[:n], idx.device)
        return self.x_train[idx[perm]]

    def to(self, device: torch.device | str) -> "RealData":
        return RealData(self.info, self.x_train.to(device), self.y_train.to(device),
                        self.x_test.to(device), self.y_test.to(device), self.source, self.note,
                        [i.to(device) for i in self.indices_class])


def first_per_class(real: RealData, n: int | None) -> RealData:
    """``real`` with only the first ``n`` training images of each class (None: unchanged); the test
    split is kept. The smoke profiles' way to make a run take seconds."""
    if n is None:
        return real
    keep = torch.cat([idx[:n] for idx in real.indices_class]).sort().values
    return RealData(real.info, real.x_train[keep], real.y_train[keep], real.x_test, real.y_test, real.source,
                    real.note)


def check_ipc(real: RealData, ipc: int) -> None:
    """Raise ValueError unless ``ipc`` is an integer >= 1 and every class has at least ``ipc``
    training images; the message names each class that is too small."""
    positive_int("ipc", ipc)
    names = real.info.class_names()
    small = [f"{names[c]!r} ({real.class_count(c)})" for c in range(real.info.num_classes)
             if real.class_count(c) < ipc]
    if small:
        raise ValueError(f"ipc={ipc} needs {ipc} training images per class of {real.info.name}; too few in "
                         f"class {', '.join(small)}; add images or lower ipc")


def normalise(x_uint8: np.ndarray, info: DatasetInfo) -> torch.Tensor:
    """uint8 images ``(N,H,W)`` or ``(N,H,W,C)`` -> normalised float32 ``(N,C,H,W)``."""
    x = torch.from_numpy(np.ascontiguousarray(x_uint8))
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
    x = x.float().div_(255.0)
    mean = torch.tensor(info.mean).view(1, -1, 1, 1)
    std = torch.tensor(info.std).view(1, -1, 1, 1)
    return ((x - mean) / std).contiguous()


def denormalise(x: torch.Tensor, info: DatasetInfo) -> torch.Tensor:
    """Normalised ``(N,C,H,W)`` -> image space in [0, 1] (clipped), on the CPU."""
    mean = torch.tensor(info.mean).view(1, -1, 1, 1)
    std = torch.tensor(info.std).view(1, -1, 1, 1)
    return (x.detach().cpu().float() * std + mean).clamp_(0, 1)


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _load_debian_fashion_mnist(directory: Path) -> dict[str, np.ndarray]:
    return {
        "x_train": _read_idx(directory / "train-images-idx3-ubyte.gz"),
        "y_train": _read_idx(directory / "train-labels-idx1-ubyte.gz").astype(np.int64),
        "x_test": _read_idx(directory / "t10k-images-idx3-ubyte.gz"),
        "y_test": _read_idx(directory / "t10k-labels-idx1-ubyte.gz").astype(np.int64),
    }


def _load_torchvision(info: DatasetInfo, root: Path, download: bool) -> dict[str, np.ndarray]:
    import torchvision.datasets as tvd

    cls = getattr(tvd, info.torchvision_name)
    if info.name == "svhn":
        splits = [cls(str(root), split=s, download=download) for s in ("train", "test")]
        arrays = [(np.transpose(d.data, (0, 2, 3, 1)), np.asarray(d.labels)) for d in splits]
    else:
        splits = [cls(str(root), train=t, download=download) for t in (True, False)]
        arrays = [(np.asarray(d.data), np.asarray(d.targets)) for d in splits]
    (xtr, ytr), (xte, yte) = arrays
    return {"x_train": xtr.astype(np.uint8), "y_train": ytr.astype(np.int64),
            "x_test": xte.astype(np.uint8), "y_test": yte.astype(np.int64)}


_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The four arrays of an .npz, or DatasetFileError naming the file (truncated, garbage,
    missing keys, object arrays) instead of numpy's BadZipFile/KeyError/pickle messages."""
    import zipfile

    fix = f"rewrite it with np.savez({path.name!r}, x_train=..., y_train=..., x_test=..., y_test=...)"
    try:
        with np.load(path, allow_pickle=False) as z:
            if not hasattr(z, "files"):
                raise DatasetFileError(f"{path}: not an .npz archive (a single array); {fix}")
            missing = [k for k in _KEYS if k not in z.files]
            if missing:
                raise DatasetFileError(f"{path}: missing field(s) {', '.join(missing)} "
                                       f"(has {', '.join(z.files) or 'none'}); {fix}")
            return {k: z[k] for k in _KEYS}
    except DatasetFileError:
        raise
    except ValueError as err:  # object arrays need pickle, which is never allowed here
        raise DatasetFileError(f"{path}: holds an object (pickled) array, not plain numbers "
                               f"({err}); {fix} using uint8 images and integer labels") from err
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise DatasetFileError(f"{path}: not a readable .npz archive (truncated or corrupt: "
                               f"{type(err).__name__}: {err}); copy the file again or {fix}") from err


def validate_arrays(arrays: dict[str, np.ndarray], info: DatasetInfo, source: str) -> None:
    """Check raw arrays before normalising them; raise DatasetFileError naming ``source``.

    Expected: uint8 images ``(N,H,W)`` (channel 1) or ``(N,H,W,C)`` matching ``info``;
    1-D integer labels in ``[0, num_classes)``, one per image; every class present in train.
    """
    def fail(field: str, problem: str, fix: str) -> None:
        raise DatasetFileError(f"{source}: {field} {problem}; {fix}")

    shape = (*info.im_size, info.channel) if info.channel > 1 else tuple(info.im_size)
    for split in ("train", "test"):
        xk, yk = f"x_{split}", f"y_{split}"
        x, y = np.asarray(arrays[xk]), np.asarray(arrays[yk])
        if x.dtype != np.uint8:
            fix = ("convert with (x*255).round().astype(np.uint8)"
                   if x.dtype.kind == "f" and x.size and 0 <= x.min() and x.max() <= 1
                   else "store images as uint8 in [0, 255]")
            fail(xk, f"has dtype {x.dtype}, expected uint8", fix)
        ok = tuple(x.shape[1:]) == shape or (info.channel == 1 and tuple(x.shape[1:]) == (*shape, 1))
        if x.ndim < 3 or not ok:
            fail(xk, f"has shape {x.shape}, expected (N, {', '.join(map(str, shape))}) for {info.name}",
                 "reshape to (N,H,W) or (N,H,W,C)")
        if y.ndim != 1 or y.dtype.kind not in "iu":
            fail(yk, f"has shape {y.shape} dtype {y.dtype}, expected 1-D integer class indices",
                 "for one-hot labels use y.argmax(1)")
        if len(y) != len(x):
            fail(yk, f"has {len(y)} labels for {len(x)} images", "give one label per image")
        if y.size and (y.min() < 0 or y.max() >= info.num_classes):
            fail(yk, f"has labels in [{y.min()}, {y.max()}], expected [0, {info.num_classes})",
                 "map labels to 0..num_classes-1")
    empty = sorted(set(range(info.num_classes)) - set(np.unique(arrays["y_train"]).tolist()))
    if empty:
        fail("y_train", f"has no images of class(es) {empty[:10]}", "every class needs training images")


def _how_to_get(info: DatasetInfo, root: Path) -> str:
    lines = [f"  - put {info.npz_files[0]} (uint8 x_train, y_train, x_test, y_test) in {root}"
             f" or point DC_DATA_ROOT at a folder holding it (this project's copies: ../shared/data)"]
    if info.torchvision_name:
        lines.append(f"  - or, while online, let torchvision download {info.torchvision_name} into {root}"
                     " (download=True or DC_DOWNLOAD=1)")
    if info.name == "fashionmnist":
        lines.append("  - or `apt-get install dataset-fashion-mnist` (read from /usr/share/datasets/fashion-mnist)")
    if info.name == "tinyimagenet":
        lines.append("  - TinyImageNet is not in torchvision: convert tiny-imagenet-200 to tinyimagenet.npz")
    for folder in info.folders[:1]:
        lines.append(f"  - or an image folder {root / folder}/train/<class>/* and {root / folder}/val/<class>/*"
                     f" (torchvision ImageFolder layout; images resized to {info.im_size[0]}x{info.im_size[1]})")
    return "\n".join(lines)


def load_arrays(name: str, root: str | os.PathLike | None = None,
                download: bool | None = None) -> tuple[dict[str, np.ndarray], str, str]:
    """Find a dataset and return its raw uint8 arrays, a source description and a caveat note.

    Raises:
        DatasetNotFoundError: no source exists; the message names every place looked
            at and how to get the data.
    """
    info = DATASETS[canonical_name(name)]
    if info.name in _REGISTERED:
        arrays, source, note = _REGISTERED[info.name]()
        validate_arrays(arrays, info, source)
        return arrays, source, note
    root = data_root(root)
    if download is None:
        download = os.environ.get("DC_DOWNLOAD", "1") not in ("0", "false", "no")
    looked = []
    for fname in info.npz_files:
        path = root / fname
        looked.append(str(path))
        if path.is_file():
            arrays = _read_npz(path)
            validate_arrays(arrays, info, f"npz:{path}")
            return arrays, f"npz:{path}", LOSSY_FILES.get(fname, "")
    for folder in info.folders:
        path = root / folder
        looked.append(f"{path}/train and {path}/val (image folders)")
        if split_folders(path) is not None:
            try:
                arrays = read_image_folders(path, info.im_size, info.channel)
            except ValueError as err:
                raise DatasetFileError(f"folder:{path}: {err}") from None
            validate_arrays(arrays, info, f"folder:{path}")
            return arrays, f"folder:{path}", ""
    if info.name == "fashionmnist":
        looked.append(str(DEBIAN_FASHION_MNIST))
        if (DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz").is_file():
            return _load_debian_fashion_mnist(DEBIAN_FASHION_MNIST), f"debian:{DEBIAN_FASHION_MNIST}", ""
    if info.torchvision_name:
        looked.append(f"torchvision {info.torchvision_name} files under {root}"
                      + (" (download attempted)" if download else " (download off)"))
        try:
            arrays = _load_torchvision(info, root, download)
        except (RuntimeError, OSError, ValueError) as err:  # missing files or offline download
            looked[-1] += f": {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        else:
            validate_arrays(arrays, info, f"torchvision:{root}")
            return arrays, f"torchvision:{root}", ""
    raise DatasetNotFoundError(
        f"Dataset {info.name!r} not found. Looked for:\n  - " + "\n  - ".join(looked)
        + "\nHow to get it:\n" + _how_to_get(info, root))


def dataset_available(name: str, root: str | os.PathLike | None = None) -> bool:
    """Whether :func:`load_arrays` would find ``name`` under ``root`` without downloading.

    A table labels a cell its profile does not run "data not available" when this is False, so it
    must never download (an online run of a reduced profile would otherwise fetch CIFAR-100 just to
    label a row) and should not read a whole archive: an ``.npz`` counts by existing.
    """
    info = DATASETS[canonical_name(name)]
    if info.name in _REGISTERED:
        return True
    base = data_root(root)
    if any((base / fname).is_file() for fname in info.npz_files):
        return True
    if any(split_folders(base / folder) is not None for folder in info.folders):
        return True
    if info.name == "fashionmnist" and (DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz").is_file():
        return True
    if info.torchvision_name:
        try:
            _load_torchvision(info, base, download=False)
        except (RuntimeError, OSError, ValueError):
            return False
        return True
    return False


def load_dataset(name: str, root: str | os.PathLike | None = None, device: str | torch.device = "cpu",
                 download: bool | None = None) -> RealData:
    """Load a dataset as normalised tensors on ``device``.

    Args:
        name: one of DATASETS (case and ``_``/``-`` insensitive).
        root: data root (see module docstring).
        device: where the tensors live; class-conditional sampling then needs no host copies.
        download: allow torchvision to download (default: $DC_DOWNLOAD, else True).
    """
    info = DATASETS[canonical_name(name)]
    arrays, source, note = load_arrays(info.name, root, download)
    x_train, x_test = normalise(arrays["x_train"], info), normalise(arrays["x_test"], info)
    if tuple(x_train.shape[1:]) != (info.channel, *info.im_size):
        raise ValueError(f"{source}: images have shape {tuple(x_train.shape[1:])}, "
                         f"expected {(info.channel, *info.im_size)} for {info.name}")
    data = RealData(info, x_train, torch.from_numpy(arrays["y_train"].astype(np.int64)),
                    x_test, torch.from_numpy(arrays["y_test"].astype(np.int64)), source, note)
    return data.to(device)
