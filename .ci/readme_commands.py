"""Print the shell lines of a README code block marked ``<!-- ci:NAME -->``.

CI runs the README's own commands (not a copy of them), so the two cannot drift apart:
``bash -c "$(python3 .ci/readme_commands.py test)"``. ``--smoke`` turns the main
command's ``--profile cpu`` into ``--profile smoke``. Exits 1, naming the marker, if the
README has no such block.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def block(name: str, text: str | None = None) -> str:
    """The body of the first fenced code block after ``<!-- ci:name -->``."""
    text = README.read_text() if text is None else text
    match = re.search(rf"<!-- ci:{re.escape(name)} -->\s*```[a-z]*\n(.*?)```", text, re.S)
    if not match:
        raise LookupError(f"README.md has no code block marked <!-- ci:{name} -->")
    return match.group(1)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: readme_commands.py NAME [--smoke]", file=sys.stderr)
        return 2
    try:
        body = block(argv[0])
    except LookupError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if "--smoke" in argv[1:]:
        if "--profile cpu" not in body:
            print(f"error: the ci:{argv[0]} block has no '--profile cpu' to turn into smoke", file=sys.stderr)
            return 1
        body = body.replace("--profile cpu", "--profile smoke")
    sys.stdout.write(body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
