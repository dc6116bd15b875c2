"""dc_lib.core.own_data: image folders, .npz, arrays, and a clear message for each bad input."""

import numpy as np
import pytest
from PIL import Image

from dc_lib.core.data import load_dataset
from dc_lib.core.own_data import DataInputError, check_class_sizes, load_data


def make_folder(root, classes=("cat", "dog", "owl"), n=6, size=(8, 8), mode="L"):
    rng = np.random.default_rng(0)
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(n):
            shape = size[::-1] + ((3,) if mode == "RGB" else ())
            Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(root / c / f"{i}.png")
    return root


def test_folder_split_and_registration(tmp_path):
    real = load_data(make_folder(tmp_path / "pets"), seed=0)
    assert real.info.class_names() == ("cat", "dog", "owl")
    assert real.x_train.shape[1:] == (1, 8, 8) and len(real.y_test) == 3  # round(0.2*6)=1 per class
    assert abs(float(real.x_train.mean())) < 1e-4  # mean/std from the training split
    assert load_dataset("pets").info.classes == ("cat", "dog", "owl")


def test_bad_inputs(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataInputError, match="no class sub-folders"):
        load_data(tmp_path / "empty")
    with pytest.raises(DataInputError, match="only one class"):
        load_data(make_folder(tmp_path / "one", classes=("a",)))
    bad = make_folder(tmp_path / "bad")
    (bad / "dog" / "broken.png").write_bytes(b"not an image")
    with pytest.raises(DataInputError, match="broken.png"):
        load_data(bad)
    mixed = make_folder(tmp_path / "mixed")
    Image.new("L", (9, 9)).save(mixed / "owl" / "big.png")
    with pytest.raises(DataInputError, match="resize"):
        load_data(mixed)
    assert load_data(mixed, resize=(8, 8)).x_train.shape[2:] == (8, 8)
    colour = make_folder(tmp_path / "colour")
    Image.new("RGB", (8, 8)).save(colour / "owl" / "rgb.png")
    with pytest.raises(DataInputError, match="grayscale and colour"):
        load_data(colour)
    assert load_data(colour, mode="RGB").x_train.shape[1] == 3
    real = load_data(make_folder(tmp_path / "few"))
    with pytest.raises(DataInputError, match="'cat'"):
        check_class_sizes(real, 50)


def test_arrays_and_npz(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 255, (12, 6, 6), dtype=np.uint8), "y_train": np.arange(12) % 2,
              "x_test": rng.integers(0, 255, (4, 6, 6), dtype=np.uint8), "y_test": np.arange(4) % 2}
    assert load_data(arrays, "mine").info.num_classes == 2
    np.savez(tmp_path / "toy.npz", **arrays)
    assert load_data(tmp_path / "toy.npz").info.name == "toy"
