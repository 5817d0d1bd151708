"""Each package's README opens with a runnable example: run it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
READMES = sorted((ROOT / "packages").glob("*/README.md"))


def first_python_block(path: Path) -> str | None:
    m = re.search(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
    return m.group(1) if m else None


@pytest.mark.parametrize("readme", READMES, ids=[p.parent.name for p in READMES])
def test_readme_opens_with_a_runnable_example(readme: Path, tmp_path: Path) -> None:
    text = readme.read_text(encoding="utf-8")
    code = first_python_block(readme)
    assert code is not None, f"{readme} has no ```python example"
    before = text[: text.index("```python")]
    assert len(before.strip().splitlines()) <= 2, f"{readme}: the example must come first"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{readme} example failed:\n{result.stderr[-3000:]}"
