"""The continual-learning experiments in a profile (dc_lib.thesis.continual_runs): streams, labels, tables."""

import numpy as np
import pandas as pd

from dc_lib.thesis import continual_runs
from dc_lib.thesis.continual_runs import joined_classes, summarise_stages


def test_joined_datasets_share_one_class_space_with_offset_labels(tmp_path, tiny_arrays):
    np.savez_compressed(tmp_path / "mnist.npz", **tiny_arrays)
    np.savez_compressed(tmp_path / "fashion_mnist.npz", **tiny_arrays)
    real, missing = joined_classes(("mnist", "fashionmnist"), tmp_path)
    assert missing == [] and real.info.num_classes == 20 and real.info.name == "mnist+fashionmnist"
    assert sorted(set(real.y_train.tolist())) == list(range(20))


def test_a_stream_without_its_data_reads_data_not_available(tmp_path, monkeypatch):
    plan = continual_runs.CONTINUAL["smoke"]
    summary, not_run = continual_runs.run_plan("eeil", "smoke", tmp_path / "out", root=tmp_path, progress=False)
    assert len(summary) == 0
    assert not_run[0].startswith(f"{'>'.join(plan.eeil_stream)}: data not available (mnist, usps)")


def test_a_substitute_stream_is_named_and_never_set_beside_a_thesis_number(tmp_path):
    summary, not_run = continual_runs.run_plan("gdumb", "smoke", tmp_path / "out", root=tmp_path, progress=False)
    assert any("cifar100 (the thesis's stream): not run" in line and "substitute, not comparable" in line
               for line in not_run)
    text = continual_runs.write_markdown("gdumb", "smoke", tmp_path / "out", summary, not_run)
    assert "(substitute stream for the thesis's cifar100)" in text.splitlines()[0]


def test_the_thesis_final_number_stands_beside_the_thesis_stream_only():
    thesis = pd.DataFrame([{"table": "text:5.3.5", "dataset": "cifar100", "ipc": 20, "method": "dm",
                            "metric": "test_acc", "setting": "cl=gdumb;steps=5;stage=final", "mean": 34.4, "std": np.nan}])

    def rows(dataset):
        return pd.DataFrame([{"table": "F5.6", "dataset": dataset, "method": "dm", "setting": f"cl=gdumb;steps=5;stage={s}",
                              "profile": "paper", "budget": "thesis", "set_idx": 0, "value": 30.0} for s in (4, 5)])

    own = summarise_stages(rows("cifar100"), thesis)
    assert own.thesis_mean.isna().tolist() == [True, False] and own.thesis_mean.iloc[1] == 34.4
    assert summarise_stages(rows("mnist+fashionmnist"), thesis).thesis_mean.isna().all()


def _summary(values):
    return pd.DataFrame([{"table": "F5.6", "dataset": "s", "method": m, "setting": f"cl=gdumb;steps={n};stage={n}",
                          "n": 2, "runs": 2, "mean": v, "std": 0.5, "thesis_mean": np.nan, "budget": "b",
                          "profile": "cpu"} for (m, n), v in values.items()])


def test_gdumb_claims_are_stated_as_holding_or_not_from_the_rows():
    lines = continual_runs.claims("gdumb", _summary({("dm", 5): 60.0, ("herding", 5): 55.0, ("random", 5): 50.0,
                                                     ("dm", 10): 59.5, ("herding", 10): 56.0, ("random", 10): 45.0}))
    assert "- 5 steps: final accuracy DM > herding > random: **holds** at this budget (dm 60.0, herding 55.0, random 50.0)" in lines
    assert any(line.startswith("- dm does not depend on the split") and "**holds**" in line for line in lines)
    assert any(line.startswith("- random does not depend on the split") and "**does not hold**" in line for line in lines)
    assert any(line.startswith("- herding ends lower with more steps") and "**does not hold**" in line for line in lines)


def test_no_rows_means_no_claim_is_checked():
    assert continual_runs.claims("eeil", pd.DataFrame()) == ["- no rows: no claim can be checked (data not available)"]
