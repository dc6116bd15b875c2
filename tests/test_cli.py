"""dc-lib command line end to end on a tiny image folder (smoke budgets)."""

import csv
import subprocess
import sys

import pytest
import torch

from dc_lib import cli
from dc_lib.core.synset import SyntheticSet
from tests.test_own_data import make_folder

FAST = ["--device", "cpu", "--no-progress", "--profile", "smoke"]


@pytest.fixture
def pets(tmp_path):
    return make_folder(tmp_path / "pets")


def condense(data, out, method="dm", ipc=2, *extra):
    return cli.main(["condense", "--data", str(data), "--method", method, "--ipc", str(ipc), "--out", str(out),
                     *FAST, *extra])


def test_condense_writes_a_self_describing_set_and_its_png(pets, tmp_path):
    assert condense(pets, tmp_path / "out", "dm", 2, "--iterations", "2") == 0
    s = SyntheticSet.load(tmp_path / "out" / "pets_dm_ipc2.pt")
    assert s.class_names == ("cat", "dog", "owl") and s.ipc == 2 and s.iteration == 2
    assert s.config["cli"]["method"] == "dm" and s.dc_lib_version
    assert (tmp_path / "out" / "pets_dm_ipc2.png").is_file()
    assert not (tmp_path / "out" / "pets_dm_ipc2.ckpt").exists()  # removed once the set is safe


# DC/DSA at 1 ipc: above it the inner loop (T matches, network steps on the set) costs seconds.
@pytest.mark.parametrize("method, ipc", [("random", 2), ("herding", 2), ("kcenter", 2), ("forgetting", 2),
                                         ("dc", 1), ("dsa", 1)])
def test_every_method_condenses_from_the_command_line(pets, tmp_path, method, ipc):
    assert condense(pets, tmp_path, method, ipc, "--iterations", "1") == 0
    s = SyntheticSet.load(tmp_path / f"pets_{method}_ipc{ipc}.pt")
    assert s.method == method and s.images.shape == (3 * ipc, 1, 8, 8)
    assert s.labels.tolist() == [c for c in range(3) for _ in range(ipc)]


def test_evaluate_prints_percentages_for_the_set_and_for_random_draws(pets, tmp_path, capsys):
    condense(pets, tmp_path, "random", 2)
    capsys.readouterr()
    assert cli.main(["evaluate", str(tmp_path / "pets_random_ipc2.pt"), "--data", str(pets), "--nets", "2",
                     "--epochs", "1", *FAST]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[1].strip() for line in lines] == ["random", "random (2 draws)"]
    for line in lines:
        mean = float(line.split(":")[2].split("±")[0])
        assert 0.0 <= mean <= 100.0


def test_evaluate_writes_tidy_rows_for_the_set_and_each_random_draw(pets, tmp_path):
    condense(pets, tmp_path, "dm", 2, "--iterations", "1")
    assert cli.main(["evaluate", str(tmp_path / "pets_dm_ipc2.pt"), "--data", str(pets), "--nets", "2",
                     "--epochs", "1", "--out", str(tmp_path / "res"), *FAST]) == 0
    rows = list(csv.DictReader(open(tmp_path / "res" / "results.csv")))
    assert sorted((r["method"], r["set_idx"], r["net_idx"]) for r in rows) == [
        ("dm", "0", "0"), ("dm", "0", "1"), ("random", "0", "0"), ("random", "1", "0")]
    assert {r["table"] for r in rows} == {"pets_dm_ipc2"} and {r["profile"] for r in rows} == {"cli-smoke"}


def test_show_writes_the_png_grid(pets, tmp_path):
    condense(pets, tmp_path, "random", 1)
    assert cli.main(["show", str(tmp_path / "pets_random_ipc1.pt"), "--out", str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.png").stat().st_size > 0


def test_authors_result_files_evaluate(pets, tmp_path, capsys):
    x, y = torch.randn(3, 1, 8, 8), torch.arange(3)
    res = tmp_path / "res_DM_pets_ConvNet_1ipc.pt"
    torch.save({"data": [(x, y), (x + 1, y)], "accs_all_exps": {"ConvNet": [0.5]}}, res)
    assert cli.main(["evaluate", str(res), "--data", str(pets), "--nets", "1", "--epochs", "1", *FAST]) == 0
    out = capsys.readouterr().out
    assert "experiment 0: dm:" in out and "experiment 1: dm:" in out


def test_an_unknown_method_lists_the_valid_ones(pets, tmp_path, capsys):
    assert condense(pets, tmp_path, "nope", 1) == 2
    assert "valid: dm, dc, dsa, random, herding, kcenter, forgetting" in capsys.readouterr().err


def test_an_unknown_architecture_lists_the_valid_ones(pets, tmp_path, capsys):
    assert condense(pets, tmp_path, "dm", 1, "--arch", "transformer") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown architecture 'transformer'") and "convnet" in err


def test_an_ipc_above_a_class_size_names_the_classes(pets, tmp_path, capsys):
    assert condense(pets, tmp_path, "random", 99) == 2
    err = capsys.readouterr().err
    assert "too few in class 'cat'" in err and "'owl'" in err
    assert not list(tmp_path.glob("*.pt"))


def test_a_set_of_other_data_is_refused_by_evaluate(pets, tmp_path, capsys):
    other = make_folder(tmp_path / "other", classes=("x", "y", "z"))
    condense(pets, tmp_path, "random", 1)
    capsys.readouterr()
    assert cli.main(["evaluate", str(tmp_path / "pets_random_ipc1.pt"), "--data", str(other), *FAST]) == 2
    assert "does not belong to this data" in capsys.readouterr().err


def test_a_truncated_set_file_is_named(tmp_path, capsys):
    (tmp_path / "trunc.pt").write_bytes(b"\x80")
    assert cli.main(["show", str(tmp_path / "trunc.pt")]) == 2
    assert "trunc.pt" in capsys.readouterr().err


def test_bad_input_exits_2_with_one_error_line_and_no_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "dc_lib", "condense", "--data", str(tmp_path / "missing"),
                        "--method", "dm", "--ipc", "1", "--out", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("error:") and "Traceback" not in r.stderr


@pytest.mark.parametrize("method", ["dm", "dc"])
def test_an_interrupted_condensation_resumes_to_the_uninterrupted_result(pets, tmp_path, monkeypatch, method):
    from dc_lib.core import checkpoint

    module = {"dm": "dc_lib.methods.distribution_matching", "dc": "dc_lib.methods.gradient_matching"}[method]
    args = (method, 1, "--iterations", "4")
    assert condense(pets, tmp_path / "a", *args) == 0

    def save_then_stop(*a, **k):  # interrupt right after the first checkpoint is written
        checkpoint.save_checkpoint(*a, **k)
        raise KeyboardInterrupt

    monkeypatch.setattr(f"{module}.save_checkpoint", save_then_stop)
    assert condense(pets, tmp_path / "b", *args) == 130
    monkeypatch.undo()
    assert (tmp_path / "b" / f"pets_{method}_ipc1.ckpt").is_file()
    assert condense(pets, tmp_path / "b", *args) == 0
    a = SyntheticSet.load(tmp_path / "a" / f"pets_{method}_ipc1.pt")
    b = SyntheticSet.load(tmp_path / "b" / f"pets_{method}_ipc1.pt")
    assert torch.equal(a.images, b.images)
