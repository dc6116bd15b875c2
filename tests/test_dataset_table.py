"""Table A.T1: the datasets' statistics are counted in the loaded arrays, never typed."""

import numpy as np

from dc_lib.runs.dataset_table import NOT_AVAILABLE, dataset_statistics, table_a_t1, thesis_datasets, write_a_t1


def test_statistics_are_counted_in_the_arrays(tiny_arrays):
    stats = dataset_statistics(tiny_arrays)
    assert stats == {"n_train": "120", "n_test": "50", "classes": "10", "image_size": "28x28x1"}


def test_colour_images_report_three_channels():
    arrays = {"x_train": np.zeros((4, 32, 32, 3), np.uint8), "y_train": np.array([0, 1, 1, 0]),
              "x_test": np.zeros((2, 32, 32, 3), np.uint8), "y_test": np.array([0, 1])}
    assert dataset_statistics(arrays)["image_size"] == "32x32x3"
    assert dataset_statistics(arrays)["classes"] == "2"


def test_the_table_lists_every_dataset_of_the_thesis_table():
    assert thesis_datasets() == ["usps", "mnist", "fashionmnist", "svhn", "cifar10", "cifar100"]


def test_a_present_dataset_gives_its_counts_and_an_absent_one_the_thesis_numbers_beside(tiny_root):
    df = table_a_t1(tiny_root)
    mnist = df[df.dataset == "mnist"].set_index("metric")
    assert mnist.loc["n_train", "value"] == "120" and mnist.loc["n_train", "thesis"] == "60000"
    assert set(mnist.status) == {"computed"}
    svhn = df[df.dataset == "svhn"].set_index("metric")
    assert set(svhn.status) == {NOT_AVAILABLE} and svhn.loc["n_train", "value"] == ""
    assert svhn.loc["n_test", "thesis"] == "26032"


def test_the_markdown_says_data_not_available_with_the_thesis_number(tiny_root, tmp_path):
    text = write_a_t1(table_a_t1(tiny_root), tmp_path)
    assert "| mnist | 120 / 60000 | 50 / 10000 | 10 / 10 | 28x28x1 | computed |" in text
    assert f"| cifar100 | {NOT_AVAILABLE} / 50000 | {NOT_AVAILABLE} / 10000 | {NOT_AVAILABLE} / 100 |" in text
    assert (tmp_path / "table_A.T1.md").is_file() and (tmp_path / "table_A.T1.csv").is_file()
