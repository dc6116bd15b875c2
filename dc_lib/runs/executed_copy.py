"""Label the executed copy of a notebook that ``reproduce.sh`` writes under ``results/``.

The notebooks in ``notebooks/`` open with a note that their stored outputs are a ``smoke`` run
(nbval compares them). Papermill copies that note into the executed copy of a real run, where it
would be false; this module replaces it there with what the copy is.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from ..core.files import atomic_write

SMOKE_NOTE = "> **The outputs stored in this notebook are a `smoke` run**"


def relabel(nb: dict, *, profile: str, command: str, when: str) -> bool:
    """Replace the smoke note of the first markdown cell in ``nb`` (a notebook's JSON) in place.

    The note is the blockquote that starts with :data:`SMOKE_NOTE`. Returns whether one was found.
    """
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        lines = "".join(cell["source"]).split("\n")
        if not any(line.startswith(SMOKE_NOTE) for line in lines):
            return False
        start = next(i for i, line in enumerate(lines) if line.startswith(SMOKE_NOTE))
        end = start
        while end < len(lines) and lines[end].startswith(">"):
            end += 1
        note = (f"> **This copy holds the `{profile}` run**, executed by `{command}` on {when}; its tables "
                f"and figures are in this folder. A rerun reuses the finished rows and sets stored there, so "
                f"numbers may come from earlier runs of the same profile and budget (each row keeps its "
                f"budget and seed). The notebook in `notebooks/` stores a `smoke` run for the tests.")
        lines[start:end] = [note]
        cell["source"] = [line + "\n" for line in lines[:-1]] + [lines[-1]]
        return True
    return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebook", type=Path)
    ap.add_argument("--profile", required=True)
    ap.add_argument("--command", required=True)
    args = ap.parse_args(argv)
    nb = json.loads(args.notebook.read_text())
    if relabel(nb, profile=args.profile, command=args.command, when=date.today().isoformat()):
        atomic_write(args.notebook, lambda tmp: Path(tmp).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
