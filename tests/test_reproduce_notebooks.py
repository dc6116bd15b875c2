"""reproduce.sh runs the quickstart and the own-data notebook headless, like the chapters."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not (SHARED_DATA / "mnist.npz").is_file(), reason="needs ../shared/data/mnist.npz")
def test_the_quickstart_runs_headless_and_writes_its_table_and_figures(tmp_path):
    env = {**os.environ, "DC_PROFILE": "cpu"}  # an inherited DC_PROFILE must not override --profile
    r = subprocess.run([str(ROOT / "reproduce.sh"), "quickstart", "--profile", "smoke", "--device", "cpu",
                        "--data-root", str(SHARED_DATA)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    out = ROOT / "results" / "quickstart" / "smoke"
    table = (out / "table_quickstart.md").read_text()
    assert "Profile `smoke`" in table and "| mnist | 10 | dm |" in table and "| mnist | 10 | random |" in table
    assert (out / "figure_sets.png").is_file() and (out / "figure_accuracy.png").is_file()


def test_an_unknown_name_lists_the_notebooks():
    r = subprocess.run([str(ROOT / "reproduce.sh"), "chapter9"], capture_output=True, text=True)
    assert r.returncode == 2
    assert "available: quickstart, chapter3, chapter4, chapter5, chapter5_analyses, own_data, continual, nas, distillation" in r.stderr
