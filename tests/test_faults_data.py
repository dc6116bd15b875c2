"""Bad dataset files stop with one message that names the file, the field and the fix."""

import numpy as np
import pytest

from dc_lib.core.data import DatasetFileError, load_dataset

from tests.conftest import make_arrays


def write(tmp_path, **changes):
    arrays = {**make_arrays(), **changes}
    np.savez(tmp_path / "mnist.npz", **arrays)
    return tmp_path


def test_float_images_are_refused_with_the_conversion_to_use(tmp_path):
    x = make_arrays()["x_train"].astype(np.float32) / 255
    with pytest.raises(DatasetFileError, match=r"mnist\.npz.*x_train.*float32.*astype\(np\.uint8\)"):
        load_dataset("mnist", write(tmp_path, x_train=x))


def test_uint16_images_are_refused(tmp_path):
    with pytest.raises(DatasetFileError, match="x_train.*uint16"):
        load_dataset("mnist", write(tmp_path, x_train=make_arrays()["x_train"].astype(np.uint16)))


def test_a_label_beyond_the_classes_is_refused(tmp_path):
    y = make_arrays()["y_train"].copy()
    y[0] = 10
    with pytest.raises(DatasetFileError, match=r"y_train.*\[0, 10\]"):
        load_dataset("mnist", write(tmp_path, y_train=y))


def test_a_negative_test_label_is_refused(tmp_path):
    y = make_arrays()["y_test"].copy()
    y[0] = -1
    with pytest.raises(DatasetFileError, match="y_test"):
        load_dataset("mnist", write(tmp_path, y_test=y))


def test_labels_and_images_of_different_lengths_are_refused(tmp_path):
    with pytest.raises(DatasetFileError, match="labels for"):
        load_dataset("mnist", write(tmp_path, y_train=make_arrays()["y_train"][:-1]))


def test_one_hot_labels_are_refused_with_argmax_as_the_fix(tmp_path):
    y = np.eye(10, dtype=np.int64)[make_arrays()["y_train"]]
    with pytest.raises(DatasetFileError, match="argmax"):
        load_dataset("mnist", write(tmp_path, y_train=y))


def test_flattened_images_are_refused_with_the_expected_shape(tmp_path):
    x = make_arrays()["x_train"].reshape(-1, 784)
    with pytest.raises(DatasetFileError, match=r"x_train.*\(N, 28, 28\)"):
        load_dataset("mnist", write(tmp_path, x_train=x))


def test_a_truncated_file_is_named(tmp_path):
    write(tmp_path)
    path = tmp_path / "mnist.npz"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DatasetFileError, match=r"mnist\.npz.*not a readable"):
        load_dataset("mnist", tmp_path)


def test_garbage_bytes_are_named(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"not an archive at all" * 10)
    with pytest.raises(DatasetFileError, match=r"mnist\.npz"):
        load_dataset("mnist", tmp_path)


def test_missing_keys_are_named(tmp_path):
    arrays = make_arrays()
    np.savez(tmp_path / "mnist.npz", images=arrays["x_train"], labels=arrays["y_train"])
    with pytest.raises(DatasetFileError, match="missing field.*x_train.*has images, labels"):
        load_dataset("mnist", tmp_path)


def test_an_object_array_is_refused_without_unpickling(tmp_path):
    arrays = make_arrays()
    y = np.empty(len(arrays["y_train"]), dtype=object)
    y[:] = list(arrays["y_train"])
    np.savez(tmp_path / "mnist.npz", **{**arrays, "y_train": y})
    with pytest.raises(DatasetFileError, match="object"):
        load_dataset("mnist", tmp_path)


def test_a_class_without_training_images_is_refused(tmp_path):
    a = make_arrays()
    keep = a["y_train"] != 9
    with pytest.raises(DatasetFileError, match=r"no images of class\(es\) \[9\]"):
        load_dataset("mnist", write(tmp_path, x_train=a["x_train"][keep], y_train=a["y_train"][keep]))


def test_valid_data_still_loads(tmp_path):
    real = load_dataset("mnist", write(tmp_path))
    assert real.x_train.shape == (120, 1, 28, 28)
