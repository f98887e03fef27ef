"""Point the course at another repository (a fork): badges, Colab bootstrap and env.REPO_URL.

python tools/set_repo_url.py https://github.com/you/your-fork
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = ROOT / "course_utils" / "env.py"


def current_url() -> str:
    match = re.search(r'^REPO_URL = "([^"]+)"', ENV_FILE.read_text(), re.M)
    assert match, "REPO_URL not found in course_utils/env.py"
    return match.group(1)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", argv[0]):
        print(__doc__)
        return 2
    old, new = current_url(), argv[0].rstrip("/")
    old_path, new_path = (
        old.removeprefix("https://github.com/"),
        new.removeprefix("https://github.com/"),
    )
    files = [
        ENV_FILE,
        *sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")),
        *sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")),
        ROOT / "README.md",
    ]
    for path in files:
        text = path.read_text()
        updated = text.replace(old, new).replace(f"github/{old_path}/", f"github/{new_path}/")
        if updated != text:
            path.write_text(updated)
            print("updated", path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
