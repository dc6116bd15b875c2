"""A dataset stored as image folders, torchvision ``ImageFolder`` style, read into uint8 arrays.

Layout: ``<folder>/train/<class>/<image>`` and ``<folder>/val/<class>/<image>`` (``test/`` is
accepted for ``val/``); class folders sorted by name give the labels 0, 1, ... in both splits, as
torchvision's ``ImageFolder`` does. The thesis's ImageNet-1K runs use 64x64 images (section 5.3.1),
so every image is resized to the dataset's size on reading (a box filter: the downsampled-ImageNet
convention); a folder already at that size is read unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".ppm")
SPLITS = {"train": ("train",), "test": ("val", "test")}


def split_folders(folder: str | os.PathLike) -> dict[str, Path] | None:
    """``{"train": path, "test": path}`` of an image-folder dataset, or None if ``folder`` is not one."""
    folder = Path(folder)
    found = {}
    for split, names in SPLITS.items():
        found[split] = next((folder / n for n in names if (folder / n).is_dir()), None)
    return found if all(found.values()) else None


def _read(path: Path, im_size: tuple[int, int], channel: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB" if channel == 3 else "L")
        if im.size != (im_size[1], im_size[0]):
            im = im.resize((im_size[1], im_size[0]), Image.BOX)
        return np.asarray(im, dtype=np.uint8).copy()


def read_image_folders(folder: str | os.PathLike, im_size: tuple[int, int], channel: int) -> dict[str, np.ndarray]:
    """uint8 ``x_train (N, H, W[, 3])``, int64 ``y_train (N,)`` and the same for ``x_test``/``y_test``.

    Raises FileNotFoundError if ``folder`` lacks ``train/`` and ``val/``, ValueError if the two
    splits name different classes or a split has no images.
    """
    splits = split_folders(folder)
    if splits is None:
        raise FileNotFoundError(f"{folder}: no train/ and val/ (or test/) class folders")
    classes = {s: sorted(p.name for p in d.iterdir() if p.is_dir() and not p.name.startswith("."))
               for s, d in splits.items()}
    if classes["train"] != classes["test"]:
        raise ValueError(f"{folder}: train/ and {splits['test'].name}/ hold different class folders; "
                         "both splits need the same classes")
    arrays = {}
    for split, directory in splits.items():
        images, labels = [], []
        for label, name in enumerate(classes[split]):
            for f in sorted((directory / name).iterdir()):
                if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES:
                    images.append(_read(f, im_size, channel))
                    labels.append(label)
        if not images:
            raise ValueError(f"{directory}: no images in its class folders")
        arrays[f"x_{split}"] = np.stack(images)
        arrays[f"y_{split}"] = np.asarray(labels, dtype=np.int64)
    return arrays
