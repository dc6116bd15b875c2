"""CI runs the README's own commands; these tests fail if the README loses one of them."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("readme_commands", ROOT / ".ci" / "readme_commands.py")
readme_commands = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme_commands)


@pytest.mark.parametrize("name", ["offline", "main", "test"])
def test_readme_has_the_block_ci_runs(name):
    assert readme_commands.block(name).strip()


def test_the_test_command_runs_pytest():
    assert "python -m pytest" in readme_commands.block("test")


def test_the_main_command_has_a_smoke_form():
    assert readme_commands.main(["main", "--smoke"]) == 0


def test_ci_runs_the_extracted_blocks_not_a_copy():
    ci = (ROOT / ".ci" / "run").read_text()
    for name in ("offline", "test", "main --smoke"):
        assert f"readme {name}" in ci
    assert "pytest" not in ci.replace("test runner", "")


def test_a_missing_block_is_an_error():
    with pytest.raises(LookupError, match="ci:absent"):
        readme_commands.block("absent", "no blocks here")
