"""Shared fixtures: tiny deterministic datasets, so unit tests run in seconds and never download."""

import os
from pathlib import Path

import numpy as np
import pytest

os.environ["DC_DOWNLOAD"] = "0"  # tests never download

from dc_lib.core.data import DATASETS, RealData, normalise  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def make_arrays(num_classes=10, per_class=12, test_per_class=5, size=28, seed=0):
    """uint8 images whose class is a bright square at a class-specific place, plus noise."""
    rng = np.random.default_rng(seed)

    def split(n):
        y = np.repeat(np.arange(num_classes), n)
        x = rng.integers(0, 60, size=(len(y), size, size)).astype(np.uint8)
        for i, c in enumerate(y):
            r, col = divmod(int(c), 4)
            x[i, 2 + 6 * r: 8 + 6 * r, 2 + 6 * col: 8 + 6 * col] = 230
        return x, y.astype(np.int64)

    x_train, y_train = split(per_class)
    x_test, y_test = split(test_per_class)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


@pytest.fixture
def tiny_arrays():
    return make_arrays()


@pytest.fixture
def tiny_real(tiny_arrays):
    """An MNIST-shaped RealData: 10 classes x 12 training images, 50 test images."""
    info = DATASETS["mnist"]
    a = tiny_arrays
    import torch

    return RealData(info, normalise(a["x_train"], info), torch.from_numpy(a["y_train"]),
                    normalise(a["x_test"], info), torch.from_numpy(a["y_test"]), source="test:tiny")


@pytest.fixture
def built_networks(monkeypatch):
    """``record(module)``: from then on, the keyword arguments of every ``get_network`` call made
    through ``module`` are appended to the returned list (the networks are still built)."""
    from dc_lib.core.models import get_network

    def record(module):
        built = []

        def recording_get_network(*args, **kwargs):
            built.append(kwargs)
            return get_network(*args, **kwargs)

        monkeypatch.setattr(module, "get_network", recording_get_network)
        return built

    return record


@pytest.fixture
def tiny_root(tmp_path, tiny_arrays):
    """A data root holding a tiny mnist.npz."""
    np.savez_compressed(tmp_path / "mnist.npz", **tiny_arrays)
    return tmp_path


def pytest_sessionstart(session):
    """nbval must recompute the notebooks, not reuse a previous smoke run's rows and sets."""
    if session.config.getoption("nbval", default=False) or session.config.getoption("nbval_lax", default=False):
        import shutil

        for smoke in (Path(__file__).resolve().parents[1] / "results").glob("*/smoke"):
            shutil.rmtree(smoke)


@pytest.fixture
def float64(tiny_real):
    """tiny_real in float64, with networks built in float64 while the test runs."""
    import torch

    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield RealData(tiny_real.info, tiny_real.x_train.double(), tiny_real.y_train, tiny_real.x_test.double(),
                       tiny_real.y_test, source=tiny_real.source)
    finally:
        torch.set_default_dtype(before)
