"""Golden outputs: the restructuring into packages by stage (issue 11) changes no behaviour.

`coach demo`, `coach live --source` (headless), `coach compare` and `coach teach` run on the
bundled samples (no model, no ../shared needed) and their results are compared with the files in
`tests/golden/`, apart from fields that name the machine or the version (paths, dates, version
numbers). When a behaviour change is intended, regenerate them with `COACH_UPDATE_GOLDEN=1` and
say why in the commit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coach import samples_dir

GOLDEN = Path(__file__).with_name("golden")
UPDATE = os.environ.get("COACH_UPDATE_GOLDEN") == "1"
VOLATILE = {"version", "path", "started_at", "created", "created_at", "date", "db", "out", "outputs",
            "wall_s", "elapsed_s", "generated"}


def _normal(value):
    """Drop what names this machine, this run or the version; round floats to 4 places."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, float):
        return round(value, 4)
    return value


def _coach(*args, cwd: Path) -> None:
    env = {**os.environ, "COACH_DB": str(cwd / "history.sqlite"), "XDG_CACHE_HOME": str(cwd / "cache"),
           "XDG_STATE_HOME": str(cwd / "state"), "XDG_DATA_HOME": str(cwd / "data")}
    done = subprocess.run([sys.executable, "-m", "coach", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr


def _check(name: str, actual) -> None:
    path = GOLDEN / name
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
    expected = json.loads(path.read_text())
    assert actual == expected, f"{name} differs from its golden file (COACH_UPDATE_GOLDEN=1 regenerates it)"


def _session(folder: Path) -> dict:
    (found,) = list(folder.rglob("session.json")) or [None]
    assert found is not None, f"no session.json under {folder}"
    return _normal(json.loads(found.read_text()))


def test_demo_writes_the_golden_sessions(tmp_path):
    _coach("demo", "-q", "-o", tmp_path / "demo", cwd=tmp_path)
    for session in sorted((tmp_path / "demo").rglob("session.json")):
        stem = session.parent.name.split(".")[0]
        _check(f"demo_{stem}.json", _normal(json.loads(session.read_text())))
        frames = (session.parent / "frames.csv").read_text().splitlines()
        _check(f"demo_{stem}_frames_head.json", frames[:40])


def test_live_from_a_recording_writes_the_golden_session(tmp_path):
    _coach("live", "--exercise", "seated_spinal_twist", "--source", samples_dir() / "seated_spinal_twist.jsonl.gz", "--no-window",
           "--answers", "no", "--mute", "--no-history", "-o", tmp_path / "live", cwd=tmp_path)
    _check("live_seated_spinal_twist.json", _session(tmp_path / "live"))


def test_compare_writes_the_golden_session(tmp_path):
    _coach("compare", samples_dir() / "bridge.jsonl.gz", "--reference", samples_dir() / "bridge.jsonl.gz",
           "--no-video", "--no-history", "-q", "-o", tmp_path / "cmp", cwd=tmp_path)
    _check("compare_bridge.json", _session(tmp_path / "cmp"))
    comparison = list((tmp_path / "cmp").rglob("comparison.json"))
    if comparison:
        _check("compare_bridge_comparison.json", _normal(json.loads(comparison[0].read_text())))


@pytest.mark.parametrize("sample", ["bridge", "seated_spinal_twist"])
def test_teach_writes_the_golden_exercise_file(tmp_path, sample):
    out = tmp_path / f"golden_{sample}.toml"
    _coach("teach", samples_dir() / f"{sample}.jsonl.gz", "--id", f"golden_{sample}", "-o", out, "-q", cwd=tmp_path)
    lines = [line for line in out.read_text().splitlines() if "version" not in line.lower()]
    _check(f"teach_{sample}.json", lines)
