import subprocess
from pathlib import Path

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
