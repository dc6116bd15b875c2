"""dc-lib command line end to end on a tiny image folder."""

import csv
import subprocess
import sys

import torch

from dc_lib import cli
from dc_lib.synset import SyntheticSet
from tests.test_own_data import make_folder


def test_condense_evaluate_show(tmp_path, capsys):
    data = make_folder(tmp_path / "pets")
    out = tmp_path / "out"
    assert cli.main(["condense", "--data", str(data), "--method", "dm", "--ipc", "2", "--iterations", "2",
                     "--device", "cpu", "--out", str(out), "--no-progress"]) == 0
    setfile = out / "pets_dm_ipc2.pt"
    s = SyntheticSet.load(setfile)
    assert s.class_names == ("cat", "dog", "owl") and (out / "pets_dm_ipc2.png").is_file()
    assert cli.main(["evaluate", str(setfile), "--data", str(data), "--nets", "1", "--epochs", "1",
                     "--device", "cpu", "--out", str(out), "--no-progress"]) == 0
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert {r["which"] for r in rows} == {"set", "random"}
    assert cli.main(["show", str(setfile), "--out", str(tmp_path / "g.png")]) == 0


def test_authors_format(tmp_path):
    data = make_folder(tmp_path / "pets")
    x, y = torch.randn(3, 1, 8, 8), torch.arange(3)
    res = tmp_path / "res_DM_pets_ConvNet_1ipc.pt"
    torch.save({"data": [(x, y), (x, y)], "accs_all_exps": {}}, res)
    assert cli.main(["evaluate", str(res), "--data", str(data), "--nets", "1", "--epochs", "1",
                     "--device", "cpu", "--first-only", "--no-progress"]) == 0


def test_bad_input_exit_codes(tmp_path, capsys):
    data = make_folder(tmp_path / "pets")
    assert cli.main(["condense", "--data", str(data), "--method", "nope", "--ipc", "1",
                     "--out", str(tmp_path)]) == 2
    assert "dm, dc, dsa" in capsys.readouterr().err
    assert cli.main(["condense", "--data", str(data), "--method", "random", "--ipc", "99",
                     "--out", str(tmp_path)]) == 2
    other = make_folder(tmp_path / "other", classes=("x", "y", "z"))
    cli.main(["condense", "--data", str(data), "--method", "random", "--ipc", "1", "--out", str(tmp_path)])
    assert cli.main(["evaluate", str(tmp_path / "pets_random_ipc1.pt"), "--data", str(other),
                     "--nets", "1", "--epochs", "1"]) == 2
    (tmp_path / "trunc.pt").write_bytes(b"\x80")
    assert cli.main(["show", str(tmp_path / "trunc.pt")]) == 2


def test_subprocess_exit_code(tmp_path):
    r = subprocess.run([sys.executable, "-m", "dc_lib", "condense", "--data", str(tmp_path / "missing"),
                        "--method", "dm", "--ipc", "1", "--out", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("error:") and "Traceback" not in r.stderr


def test_resume_equals_uninterrupted(tmp_path, monkeypatch):
    import dc_lib.distribution_matching as dm

    data = make_folder(tmp_path / "pets")
    args = ["condense", "--data", str(data), "--method", "dm", "--ipc", "2", "--iterations", "4",
            "--device", "cpu", "--no-progress"]
    assert cli.main(args + ["--out", str(tmp_path / "a")]) == 0
    real_save = dm.__dict__.get("save_checkpoint")
    calls = []
    if real_save is not None:  # interrupt right after the first checkpoint is written
        def save_then_stop(*a, **k):
            real_save(*a, **k)
            calls.append(1)
            raise KeyboardInterrupt
        monkeypatch.setattr(dm, "save_checkpoint", save_then_stop)
        assert cli.main(args + ["--out", str(tmp_path / "b")]) == 130
        monkeypatch.undo()
        assert calls and (tmp_path / "b" / "pets_dm_ipc2.ckpt").is_file()
    assert cli.main(args + ["--out", str(tmp_path / "b")]) == 0
    a = SyntheticSet.load(tmp_path / "a" / "pets_dm_ipc2.pt")
    b = SyntheticSet.load(tmp_path / "b" / "pets_dm_ipc2.pt")
    assert torch.equal(a.images, b.images)
