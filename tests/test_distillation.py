"""The DD comparison's cells (Tables 3.3, A.T10, A.T11, Figure A.F4) as the thesis lays them out."""

import pandas as pd
import pytest

from dc_lib.core.config import ARCHS, get_profile
from dc_lib.runs.experiments import Runner
from dc_lib.thesis import distillation


def test_table_3_3_in_paper_is_the_thesis_grid_dc_at_1_and_10_dd_at_10_and_the_whole_set():
    cells = {(c.dataset, c.ipc, c.method, c.condense_arch, c.eval_arch) for c in distillation.planned_3_3(get_profile("paper"))}
    for dataset, arch in (("mnist", "lenet"), ("cifar10", "alexcifarnet")):
        assert {(dataset, 1, "dc", arch, arch), (dataset, 10, "dc", arch, arch), (dataset, 10, "dd", arch, arch),
                (dataset, 0, "whole", "none", arch)} <= cells
    assert len(cells) == 8


def test_table_a_t10_trains_the_dd_set_on_all_six_networks_and_dc_on_the_plans():
    cells = distillation.planned_a_t10(get_profile("cpu"))
    assert [c.eval_arch for c in cells if c.method == "dd"] == list(ARCHS)
    assert [c.eval_arch for c in cells if c.method == "dc"] == ["mlp", "convnet", "lenet", "alexnet"]
    assert {(c.condense_arch, c.ipc) for c in cells} == {("lenet", 10)}


def _cost_rows(dc_minutes, dd_minutes, dc_mb, dd_mb):
    rows = []
    for method, minutes, mb in (("dc", dc_minutes, dc_mb), ("dd", dd_minutes, dd_mb)):
        for metric, value in (("seconds_per_iteration", 0.5), ("peak_saved_mb", mb), ("cuda_peak_mb", float("nan")),
                              ("protocol_iterations", 1000.0), ("protocol_minutes", minutes)):
            rows.append({"dataset": "mnist", "condense_arch": "lenet", "method": method, "metric": metric,
                         "value": value, "budget": "K=1;timed_iterations=3;per_iteration=thesis"})
    return pd.DataFrame(rows)


def test_the_cost_part_gives_dc_over_dd_beside_the_thesis_ratio():
    text = distillation.cost_markdown(_cost_rows(dc_minutes=10.0, dd_minutes=40.0, dc_mb=3.0, dd_mb=6.0))
    assert "DC / DD time 0.25 (thesis 46 / 160 min = 0.29), memory 0.50 (thesis 653 / 785 MB = 0.83" in text
    assert "| mnist | lenet | dd | 3 | 0.500 | 1000 | 40.0 | 6.00 | - |" in text


@pytest.fixture
def smoke_runner(tiny_root, tmp_path):
    return Runner(get_profile("smoke"), tmp_path / "out", data_root=tiny_root, device="cpu")


def test_the_smoke_run_of_table_3_3_makes_a_dd_and_a_dc_row_and_lists_the_rest(smoke_runner):
    summary, not_run = distillation.table_3_3(smoke_runner)
    assert set(zip(summary.method, summary.ipc)) == {("dc", 1), ("dc", 10), ("dd", 10)}
    markdown = distillation.write_table(smoke_runner, "3.3", summary, not_run, "Table 3.3")
    assert "| mnist | whole | whole | none | lenet |  | not run in this profile (cost; `./reproduce.sh distillation" in markdown
    assert "| cifar10 | 10 | dd | alexcifarnet | alexcifarnet |  | data not available |" in markdown
    dd, dc = distillation.figure_a_f4_sets(smoke_runner)
    assert (dd.method, dc.method, dc.ipc) == ("dd", "dc", 10) and len(dd.config["etas"]) == 30
