"""ImageNet-1K at 64x64 (thesis section 5.3.1): an .npz in the data root or ImageFolder-style folders."""

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from dc_lib.core import data
from dc_lib.core.config import dm_iterations, get_profile
from dc_lib.core.image_folders import read_image_folders
from dc_lib.core.models import get_network


def _folders(root, classes=("b_cls", "a_cls", "c_cls"), size=(80, 72), per_class=2):
    for split in ("train", "val"):
        for c in classes:
            (root / split / c).mkdir(parents=True)
            for i in range(per_class):
                pixels = np.full((size[0], size[1], 3), 40 * (sorted(classes).index(c) + 1), np.uint8)
                Image.fromarray(pixels).save(root / split / c / f"{i}.png")
    return root


def test_imagenet1k_is_the_thesis_setting_64x64_1000_classes_and_a_4_block_convnet():
    info = data.DATASETS[data.canonical_name("ImageNet-1K")]
    assert (info.im_size, info.channel, info.num_classes) == ((64, 64), 3, 1000)
    assert info.npz_files[0] == "imagenet64.npz"
    net = get_network("convnet_d4", info.channel, info.num_classes, info.im_size)
    assert net(__import__("torch").zeros(2, 3, 64, 64)).shape == (2, 1000)


def test_dm_on_imagenet1k_runs_the_thesis_halved_k_in_the_paper_profile():
    assert dm_iterations(get_profile("paper"), "imagenet1k") == 10000
    assert dm_iterations(get_profile("paper"), "cifar10") == 20000


def test_image_folders_are_read_with_sorted_class_labels_and_resized(tmp_path):
    arrays = read_image_folders(_folders(tmp_path), (64, 64), 3)
    assert arrays["x_train"].shape == (6, 64, 64, 3) and arrays["x_train"].dtype == np.uint8
    assert arrays["y_train"].tolist() == [0, 0, 1, 1, 2, 2]
    # a_cls (label 0) was painted 40, b_cls 80, c_cls 120: the label follows the sorted folder name
    assert [int(arrays["x_test"][i].mean()) for i in (0, 2, 4)] == [40, 80, 120]


def test_image_folders_with_different_classes_per_split_are_refused(tmp_path):
    _folders(tmp_path)
    (tmp_path / "val" / "d_cls").mkdir()
    with pytest.raises(ValueError, match="different class folders"):
        read_image_folders(tmp_path, (64, 64), 3)


def test_imagenet1k_loads_from_an_image_folder_under_the_data_root(tmp_path, monkeypatch):
    # three classes stand in for the thousand, so the folder stays tiny
    monkeypatch.setitem(data.DATASETS, "imagenet1k", replace(data.DATASETS["imagenet1k"], num_classes=3))
    _folders(tmp_path / "imagenet64")
    assert data.dataset_available("imagenet1k", tmp_path)
    arrays, source, _ = data.load_arrays("imagenet1k", tmp_path, download=False)
    assert source == f"folder:{tmp_path / 'imagenet64'}"
    assert arrays["x_train"].shape == (6, 64, 64, 3)


def test_imagenet1k_missing_says_where_it_looked_and_how_to_get_it(tmp_path):
    assert not data.dataset_available("imagenet1k", tmp_path)
    with pytest.raises(data.DatasetNotFoundError) as err:
        data.load_arrays("imagenet1k", tmp_path, download=False)
    assert "imagenet64.npz" in str(err.value) and "ImageFolder layout" in str(err.value)
