import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    return subprocess.run([str(ROOT / "reproduce.sh"), *args], capture_output=True, text=True)


def test_help_lists_chapters_and_profiles():
    out = run("--help")
    assert out.returncode == 0
    assert "chapter5" in out.stdout and all(p in out.stdout for p in ("smoke", "cpu", "paper"))


def test_unknown_chapter_or_profile_fails():
    assert run("chapter42").returncode == 2
    assert run("chapter5", "--profile", "huge").returncode == 2


# Usage mistakes (issue 13): one line starting "error:" on stderr, exit 2, and nothing created. The script
# runs from a copy, so "nothing created" is checked on a tree of its own (it writes beside itself).
def _copy(tmp_path):
    (tmp_path / "repo").mkdir()
    script = tmp_path / "repo" / "reproduce.sh"
    shutil.copy2(ROOT / "reproduce.sh", script)
    shutil.copytree(ROOT / "notebooks", tmp_path / "repo" / "notebooks")
    return script


def _run_copy(tmp_path, *args, env=None):
    script = _copy(tmp_path)
    # The environment's own python first on PATH, as an activated venv would be.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    out = subprocess.run([str(script), *args], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PATH": path, **(env or {})})
    return out, script.parent


@pytest.mark.parametrize("args, message", [
    (["chapter5", "chapter3"], "name one chapter"),
    (["chapter5", "--profile"], "--profile needs a value"),
    (["chapter5", "--data-root"], "--data-root needs a value"),
    (["chapter5", "--profile", "smoke", "--device"], "--device needs a value"),
    (["chapter5", "--bogus"], "unknown argument '--bogus'"),
    (["--profile", "smoke"], "name a chapter"),
    (["chapter5", "--data-root", "no_such_dir"], "data root 'no_such_dir' (--data-root) does not exist"),
    (["chapter5", "--data-root", "a_file"], "is not a directory"),
    (["chapter5", "--profile=huge"], "unknown profile 'huge'"),
])
def test_every_usage_mistake_is_one_error_line_exit_2_and_creates_nothing(tmp_path, args, message):
    (tmp_path / "a_file").write_text("not a folder")
    out, repo = _run_copy(tmp_path, *args)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1 and message in out.stderr
    assert not (repo / "results").exists()


def test_a_data_root_from_the_environment_that_is_missing_is_named(tmp_path):
    out, repo = _run_copy(tmp_path, "chapter5", env={"DC_DATA_ROOT": str(tmp_path / "gone")})
    assert out.returncode == 2 and "(DC_DATA_ROOT) does not exist" in out.stderr
    assert not (repo / "results").exists()


def test_device_cuda_without_cuda_is_one_line(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    # An existing data root, so that the CUDA check is the one that speaks (the data root is checked first).
    out, repo = _run_copy(tmp_path, "chapter5", "--profile", "smoke", "--device", "cuda",
                          env={"DC_DATA_ROOT": str(tmp_path)})
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "CUDA is not available" in out.stderr
    assert not (repo / "results").exists()


@pytest.mark.parametrize("chapter, notebook", [("chapter3", "03_gradient_matching"),
                                               ("chapter4", "04_siamese_augmentation"),
                                               ("chapter5", "05_distribution_matching"),
                                               ("chapter5_analyses", "10_dm_analyses")])
def test_an_empty_data_root_gives_data_not_available_tables_and_exits_0(tmp_path, chapter, notebook):
    """A chapter's whole smoke run without any dataset (about 10 s each; nothing is trained)."""
    (tmp_path / "empty").mkdir()
    out, repo = _run_copy(tmp_path, chapter, "--profile", "smoke", "--device", "cpu", "--data-root", "empty",
                          env={"DC_DOWNLOAD": "0"})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    looked = str((tmp_path / "empty").resolve())
    assert f"data root={looked}" in out.stdout and f"not in {looked}" in out.stdout
    smoke = repo / "results" / chapter.removesuffix("_analyses") / "smoke"  # the analyses are chapter 5's tables
    tables = sorted(smoke.glob("table_*.md"))
    assert tables
    for table in tables:
        cells = [line for line in table.read_text().splitlines() if line.startswith("| mnist |")]
        assert all(any(reason in line for reason in ("data not available", "not run in this profile",
                                                     "not implemented in this companion",
                                                     "not run in any profile of this companion (the thesis quotes DD"))
                   for line in cells), table
        name = table.stem
        if name == "table_A.T1":  # the datasets' statistics: one CSV of its own, no result rows
            assert (smoke / "table_A.T1.csv").read_text().startswith("table,dataset,metric,value,thesis")
            continue
        assert (smoke / f"{name}_summary.csv").read_text().startswith("table,dataset,ipc,method")
        assert (smoke / f"{name}_rows.csv").read_text().startswith("chapter,table,dataset")
    if chapter == "chapter5":
        assert "| mnist | 1 | dm | convnet | convnet |  | data not available" in (smoke / "table_5.1.md").read_text()
    assert not list(smoke.glob("figure_*.png"))
    executed = (smoke / f"{notebook}.ipynb").read_text()
    assert "skipped" in executed and f"{looked}/mnist.npz" in executed  # the kernel saw the absolute root


def test_the_default_data_root_is_data_where_the_command_was_typed(tmp_path, tiny_arrays):
    """No DC_DATA_ROOT, mnist.npz in ./data beside the command: the kernel (which runs in notebooks/)
    reads that folder, and chapter 5's smoke table has reproduced numbers, not "data not available"."""
    import numpy as np

    (tmp_path / "data").mkdir()
    np.savez_compressed(tmp_path / "data" / "mnist.npz", **tiny_arrays)
    env = {k: v for k, v in os.environ.items() if k != "DC_DATA_ROOT"}
    script = _copy(tmp_path)
    path = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    out = subprocess.run([str(script), "chapter5", "--profile", "smoke", "--device", "cpu"], capture_output=True,
                         text=True, cwd=tmp_path, env={**env, "PATH": path, "DC_DOWNLOAD": "0"})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert f"data root={(tmp_path / 'data').resolve()}" in out.stdout
    table = (script.parent / "results" / "chapter5" / "smoke" / "table_5.1.md").read_text()
    dm = [line for line in table.splitlines() if line.startswith("| mnist | 1 | dm |")]
    assert dm and "data not available" not in dm[0] and "±" in dm[0]
