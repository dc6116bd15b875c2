"""The executed copy under results/ says which run it holds, not the source notebook's smoke note."""

import json

from dc_lib.runs.executed_copy import SMOKE_NOTE, main, relabel


def _notebook(first_cell: str) -> dict:
    return {"cells": [{"cell_type": "markdown", "metadata": {}, "source": first_cell.splitlines(keepends=True)},
                      {"cell_type": "code", "metadata": {}, "source": ["x = 1"], "outputs": []}]}


NOTE = f"# Chapter 5\n\n{SMOKE_NOTE} (seconds):\n> their numbers are meaningless.\n\nProse after the note."


def test_the_smoke_note_is_replaced_by_the_profile_and_command_of_the_run():
    nb = _notebook(NOTE)
    assert relabel(nb, profile="cpu", command="./reproduce.sh chapter5 --profile cpu", when="2026-12-02")
    text = "".join(nb["cells"][0]["source"])
    assert SMOKE_NOTE not in text and "meaningless" not in text
    assert "`cpu` run" in text and "./reproduce.sh chapter5 --profile cpu" in text and "2026-12-02" in text
    assert text.startswith("# Chapter 5\n\n") and text.endswith("\n\nProse after the note.")


def test_a_notebook_without_the_note_is_left_as_it_is():
    nb = _notebook("# Title\n\nNo note here.")
    assert not relabel(nb, profile="cpu", command="c", when="d")
    assert "".join(nb["cells"][0]["source"]) == "# Title\n\nNo note here."


def test_the_command_line_rewrites_the_file(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(_notebook(NOTE)))
    assert main([str(path), "--profile", "paper", "--command", "./reproduce.sh chapter5 --profile paper"]) == 0
    assert "`paper` run" in "".join(json.loads(path.read_text())["cells"][0]["source"])
