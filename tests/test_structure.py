"""The code's shape, read from the source: one name for one thing, no module too small to stand alone.

- A class name means one thing across coach/: two classes called `Frame` (decoded pixels, and the
  engine's smoothed frame) make a reader guess which one an annotation means.
- A module under `SMALL_LINES` lines belongs with a neighbour unless it is an idea of its own; those
  that stay are listed with their reason, and the list fails when an entry is no longer needed.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import coach

PACKAGE = Path(coach.__file__).parent
SMALL_LINES = 50
# Small on purpose, each an idea of its own (not a part of a neighbour):
SMALL_ON_PURPOSE = {
    "__main__.py": "`python -m coach`: two lines, as Python wants them",
    "errors.py": "the named errors every stage raises; a module of its own so any stage may import it",
}
# usertext.py left the list in issue 15: it also holds the words for sides shared by the overlay, the
# spoken cues and the report, and is no longer small.


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def test_no_class_name_is_used_twice():
    where = defaultdict(list)
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                where[node.name].append(f"{_rel(path)}:{node.lineno}")
    twice = {name: places for name, places in where.items() if len(places) > 1}
    assert twice == {}, f"class names defined more than once: {twice}"


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("path", _sources(), ids=_rel)
def test_a_small_module_is_an_idea_of_its_own(path):
    rel = _rel(path)
    if path.name == "__init__.py" and rel != "__init__.py":
        return  # a stage package's face: its public names
    if _lines(path) < SMALL_LINES:
        assert rel in SMALL_ON_PURPOSE, f"{rel}: {_lines(path)} lines - merge it into the neighbour it belongs with"


@pytest.mark.parametrize("rel", sorted(SMALL_ON_PURPOSE))
def test_each_small_module_listed_is_still_small(rel):
    path = PACKAGE / rel
    assert path.exists() and _lines(path) < SMALL_LINES, f"{rel}: no longer small (or gone): drop it from the list"
