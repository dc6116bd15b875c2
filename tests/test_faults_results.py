"""Damaged results CSVs (issue 13): a row that cannot be trusted is named and never counts as done.

Our writes are atomic, so such rows come from outside (a copy cut short, a disk that failed, a
hand edit); before, pandas took a truncated last row as a finished experiment (never recomputed)
and a garbage line ended in ``ValueError: invalid literal for int()`` without naming the file.
"""

import pytest

from dc_lib.runs.results import COLUMNS, Cell, ResultStore, make_rows

# The damaged rows warn on every load until the next append rewrites the file; the tests check each
# warning once, with pytest.warns, and ignore the repeats.
pytestmark = pytest.mark.filterwarnings(r"ignore:.*results\.csv, line:RuntimeWarning")

CELL = Cell(5, "5.1", "mnist", 1, "dm")
OTHER = Cell(5, "5.1", "mnist", 10, "dm")


def _store(tmp_path):
    store = ResultStore(tmp_path / "results.csv")
    store.append(make_rows(CELL, 0, 1, [80.0, 81.0], profile="smoke", budget="K=1", data_source="t"))
    store.append(make_rows(OTHER, 0, 2, [90.0, 91.5], profile="smoke", budget="K=1", data_source="t"))
    return store


def test_a_row_truncated_mid_row_is_named_and_its_experiment_is_not_done(tmp_path):
    store = _store(tmp_path)
    text = store.path.read_text()
    store.path.write_text(text[:text.rindex("91.5") + 2])  # cut inside the last row's value
    with pytest.warns(RuntimeWarning, match=r"results\.csv, line 5: partial row"):
        df = store.load()
    assert not store.has(OTHER, 0, "smoke")  # the whole experiment is recomputed, not 1 net of 2
    assert store.has(CELL, 0, "smoke") and len(df) == 2


def test_a_garbage_line_is_named_with_its_line_number_instead_of_a_bare_int_error(tmp_path):
    store = _store(tmp_path)
    lines = store.path.read_text().splitlines(keepends=True)
    lines.insert(2, "this is not a row\n")
    store.path.write_text("".join(lines))
    with pytest.warns(RuntimeWarning, match=r"results\.csv, line 3: 1 fields, expected 18"):
        df = store.load()
    assert len(df) == 4 and store.has(CELL, 0, "smoke") and store.has(OTHER, 0, "smoke")


def test_an_unparsable_number_is_named_and_its_experiment_is_not_done(tmp_path):
    store = _store(tmp_path)
    lines = store.path.read_text().splitlines(keepends=True)
    fields = lines[1].split(",")
    fields[COLUMNS.index("net_idx")] = "x1"
    lines[1] = ",".join(fields)
    store.path.write_text("".join(lines))
    with pytest.warns(RuntimeWarning, match=r"line 2: column net_idx holds 'x1', not an integer"):
        assert not store.has(CELL, 0, "smoke")
    assert store.has(OTHER, 0, "smoke")


def test_the_next_append_rewrites_the_file_without_the_bad_rows(tmp_path):
    store = _store(tmp_path)
    store.path.write_text(store.path.read_text()[:-3])
    with pytest.warns(RuntimeWarning):
        store.append(make_rows(OTHER, 0, 2, [92.0, 93.0], profile="smoke", budget="K=1", data_source="t"))
    df = store.load()  # no warning now
    assert sorted(df.value.tolist()) == [80.0, 81.0, 92.0, 93.0]


def test_nan_values_and_quoted_notes_still_load(tmp_path):
    store = ResultStore(tmp_path / "results.csv")
    store.append(make_rows(CELL, 0, 1, [float("nan")], profile="smoke", budget="K=1", data_source="t",
                           note='a, "quoted"\nnote'))
    df = store.load()
    assert len(df) == 1 and df.value.isna().all() and df.note.iloc[0] == 'a, "quoted"\nnote'
    assert df.ipc.dtype.kind == "i" and df.value.dtype.kind == "f"


def test_a_truncated_header_warns_and_reads_as_empty(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("chapter,table,data")
    with pytest.warns(RuntimeWarning, match="partial header"):
        assert len(ResultStore(path).load()) == 0


def test_a_file_that_is_not_a_results_file_is_named(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"results\.csv: not a results file"):
        ResultStore(path).load()
