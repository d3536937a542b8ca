"""The packages are the pipeline's stages; this test reads every import of coach/ and keeps the shape.

    io -> pose -> measure -> engine -> render / report -> session -> physio -> history -> cli

A package may import only packages on its left (and the cross-cutting top-level modules `errors`,
`interrupts`, `usertext` and the package face `coach`). Only `pose/detector.py` imports mediapipe;
cv2 is used only where pixels are decoded, drawn or encoded (io/, render/, and the report's
thumbnails); `measure/` and `engine/` import neither cv2 nor any stage to their right; nothing
imports `cli/`. Imports inside functions count as well as those at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import coach

PACKAGE = Path(coach.__file__).parent
ORDER = ["io", "pose", "measure", "engine", "render", "report", "session", "physio", "history", "cli"]
SAME_FLOOR = {("render", "report"), ("report", "render")}   # neither imports the other today; both only read verdicts
SHARED = {"errors", "interrupts", "usertext"}
CV2_ALLOWED = {"io/sources.py", "io/video.py", "render/", "report/keyframes.py"}


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [node.module] + [f"{node.module}.{a.name}" for a in node.names if node.module == "coach"]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names]
    return found


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        yield rel, _imports(path)


def _stage(rel: str) -> str | None:
    head = rel.split("/")[0]
    return head if head in ORDER else None


def test_every_module_lives_in_a_stage_package_or_is_cross_cutting():
    top = {rel for rel, _ in _modules() if "/" not in rel}
    assert top == {"__init__.py", "__main__.py"} | {f"{name}.py" for name in SHARED}, top


@pytest.mark.parametrize("rel, imports", list(_modules()), ids=[rel for rel, _ in _modules()])
def test_each_module_imports_only_the_stages_before_its_own(rel, imports):
    stage = _stage(rel)
    for name in imports:
        parts = name.split(".")
        if parts[0] == "mediapipe":
            assert rel == "pose/detector.py", f"{rel} imports mediapipe; only pose/detector.py may"
        if parts[0] == "cv2":
            assert any(rel == ok or (ok.endswith("/") and rel.startswith(ok)) for ok in CV2_ALLOWED), \
                f"{rel} imports cv2"
        if parts[0] != "coach" or len(parts) < 2:
            continue
        target = parts[1]
        if target == "cli":
            assert rel in ("__main__.py",) or stage == "cli", f"{rel} imports the CLI"
        if stage is None or target not in ORDER or target == stage or (stage, target) in SAME_FLOOR:
            continue
        assert ORDER.index(target) < ORDER.index(stage), f"{rel} ({stage}) imports coach.{target}, a later stage"


def test_measure_and_engine_are_pure():
    for rel, imports in _modules():
        if _stage(rel) in ("measure", "engine"):
            bad = [n for n in imports if n.split(".")[0] == "cv2"
                   or (n.startswith("coach.") and n.split(".")[1] in ("io", "render", "report", "session", "cli"))]
            assert not bad, f"{rel} imports {bad}"


@pytest.mark.parametrize("stage", [s for s in ORDER if s != "cli"])
def test_each_stage_lists_its_public_names_and_each_resolves(stage):
    import importlib

    package = importlib.import_module(f"coach.{stage}")
    assert package.__all__, f"coach.{stage} lists no public names"
    for name in package.__all__:
        assert getattr(package, name) is not None, f"coach.{stage}.{name}"
    with pytest.raises(AttributeError):
        package.no_such_name  # noqa: B018
