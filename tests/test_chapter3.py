import pandas as pd

from dc_lib.thesis.chapter3 import ors_rows


def _draws(values):
    return pd.DataFrame({"dataset": "mnist", "ipc": 1, "method": "random", "value": values, "note": ""})


def test_ors_keeps_the_best_draws_and_reports_all_draws_as_top1000():
    rows = ors_rows(_draws([float(v) for v in range(20)]), tops=(10, 100))
    top10 = rows[rows.method == "ors_top10"].value
    assert sorted(top10) == [float(v) for v in range(10, 20)]
    assert len(rows[rows.method == "ors_top1000"]) == 20 and "ors_top100" not in set(rows.method)
