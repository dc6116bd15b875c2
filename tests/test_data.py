import numpy as np
import pytest
import torch

from dc_lib.core.data import (DATASETS, DatasetNotFoundError, canonical_name, check_ipc, dataset_available,
                              denormalise, load_dataset)
from dc_lib.core.seeding import make_generator

from tests.conftest import SHARED_DATA


def test_user_spellings_map_to_one_dataset_name():
    assert canonical_name("FashionMNIST") == canonical_name("fashion_mnist") == "fashionmnist"
    assert canonical_name("CIFAR-10") == "cifar10"


def test_unknown_dataset_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Valid datasets: mnist, fashionmnist"):
        canonical_name("imagenet-21k")


def test_npz_loads_as_normalised_nchw_tensors(tiny_root):
    real = load_dataset("mnist", tiny_root)
    assert real.x_train.shape == (120, 1, 28, 28) and real.x_train.dtype == torch.float32
    assert real.y_test.shape == (50,) and real.y_test.dtype == torch.int64
    assert real.source.startswith("npz:")
    zero = (0 - 0.1307) / 0.3081
    assert real.x_train.min().item() == pytest.approx(zero, abs=1e-5)


def test_denormalise_inverts_normalisation(tiny_root, tiny_arrays):
    real = load_dataset("mnist", tiny_root)
    pixels = denormalise(real.x_train[:3], real.info) * 255
    assert np.allclose(pixels.squeeze(1).numpy(), tiny_arrays["x_train"][:3], atol=1e-3)


def test_data_root_comes_from_the_environment(tiny_root, monkeypatch):
    monkeypatch.setenv("DC_DATA_ROOT", str(tiny_root))
    assert load_dataset("mnist").source == f"npz:{tiny_root / 'mnist.npz'}"


def test_missing_data_names_the_file_and_how_to_get_it(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("svhn", tmp_path, download=False)
    message = str(err.value)
    assert str(tmp_path / "svhn.npz") in message
    assert "DC_DATA_ROOT" in message and "download" in message


def test_sample_class_returns_only_that_class_and_repeats_with_the_seed(tiny_real):
    a = tiny_real.sample_class(3, 5, make_generator(1))
    b = tiny_real.sample_class(3, 5, make_generator(1))
    assert torch.equal(a, b) and a.shape == (5, 1, 28, 28)
    members = tiny_real.x_train[tiny_real.indices_class[3]]
    assert all(any(torch.equal(img, m) for m in members) for img in a)


def test_every_dataset_has_the_authors_normalisation_constants():
    assert DATASETS["mnist"].mean == (0.1307,) and DATASETS["cifar10"].std == (0.2023, 0.1994, 0.2010)
    assert all(len(d.mean) == d.channel == len(d.std) for d in DATASETS.values())


@pytest.mark.skipif(not (SHARED_DATA / "cifar10_jpeg.npz").is_file(), reason="shared data not present")
def test_lossy_cifar10_copy_is_flagged():
    from dc_lib.core.data import load_arrays

    _, source, note = load_arrays("cifar10", SHARED_DATA)
    assert source.endswith("cifar10_jpeg.npz") and "lossy" in note


def test_an_ipc_above_a_class_size_names_every_class_too_small(tiny_real):
    with pytest.raises(ValueError, match=r"too few in class '0' \(12\), '1' \(12\)"):
        check_ipc(tiny_real, 13)


def test_an_ipc_that_is_not_a_positive_integer_is_refused(tiny_real):
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="ipc must be an integer >= 1"):
            check_ipc(tiny_real, bad)


def test_a_dataset_is_available_when_its_npz_is_under_the_root(tiny_root):
    assert dataset_available("mnist", tiny_root)


def test_a_dataset_without_any_source_is_not_available_and_nothing_is_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("DC_DOWNLOAD", "1")  # even where downloads are allowed, the check never downloads
    assert not dataset_available("cifar100", tmp_path) and not dataset_available("tinyimagenet", tmp_path)
    assert list(tmp_path.iterdir()) == []
