"""Print one of README's set-up commands, the single line of the ```bash block after its marker.

    python .ci/readme_command.py "main job"    # -> pip install -e ".[demo]" && cyclr demo
    python .ci/readme_command.py tests

CI runs what this prints, so README's commands cannot drift from what is tested. The marker is the HTML
comment ``<!-- README command: NAME ... -->`` (invisible on GitHub and PyPI). Exits 1 with one line when
the marker is missing, repeated, or not followed by a ```bash block of exactly one line.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_command(name: str, text: str) -> str:
    pattern = re.compile(
        rf"^<!-- README command: {re.escape(name)}\b[^\n]*-->\n```bash\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL
    )
    found = pattern.findall(text)
    if len(found) != 1:
        raise ValueError(f"README.md must hold one marked command {name!r} (a ```bash block after its marker), found {len(found)}")
    lines = [line for line in found[0].splitlines() if line.strip()]
    if len(lines) != 1:
        raise ValueError(f"README.md's command {name!r} must be one line, got {len(lines)}: {lines}")
    return lines[0].strip()


if __name__ == "__main__":
    try:
        print(readme_command(" ".join(sys.argv[1:]), README.read_text()))
    except ValueError as error:
        print(f"readme_command: {error}", file=sys.stderr)
        sys.exit(1)
