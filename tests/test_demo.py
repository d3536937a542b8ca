"""`coach demo`: the bundled samples analysed with no camera, no video and no model."""

from __future__ import annotations

import json
import re

from coach import cli, samples_dir
from coach.cli.demo import samples


def test_demo_samples_name_their_exercises():
    found = samples()
    assert len(found) == len(list(samples_dir().glob("*.jsonl.gz"))) >= 4
    assert all(exercise != "auto" for _, exercise in found), found


def test_demo_analyses_every_sample(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COACH_MODEL_DIR", str(tmp_path / "no-models-here"))   # proves no model is needed
    monkeypatch.setenv("COLUMNS", "60")   # a narrow terminal: names wrap between words, never inside one
    out = tmp_path / "demo"
    assert cli.main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for path, exercise in samples():
        name = path.rsplit("/", 1)[-1].removesuffix(".jsonl.gz")
        folder = out / f"{name}.coach"
        assert sorted(p.name for p in folder.iterdir()) == ["frames.csv", "landmarks.jsonl.gz", "report.html",
                                                            "session.json"]
        session = json.loads((folder / "session.json").read_text())
        assert session["exercise"] == exercise and session["frames"] > 0 and not session["partial"]
        assert str(folder / "report.html") in printed and name in printed
    assert "coach demo" in printed
    rows = [line for line in printed.splitlines() if ".jsonl.gz" in line and line.startswith("│")]
    assert len(rows) == len(samples()), printed
    for (path, exercise), row in zip(samples(), rows):
        cells = [c.strip() for c in row.strip("│").split("│")]
        assert cells[0] == path.rsplit("/", 1)[-1] and cells[1] == exercise, row   # whole names, one line
        assert re.fullmatch(r"\d+ of \d+", cells[2]) and re.fullmatch(r"\d+\.\d of \d+ s|none", cells[3]), row
    bridge = next(row for row in rows if "bridge.jsonl.gz" in row)
    assert "stop" not in bridge, "a correct bridge raises no stop"
    # the clips are shorter than the bridge's 30 s hold: the demo says so instead of reading as failure
    assert re.search(r"shorter than their exercise's hold.*bridge\.jsonl\.gz \(\d+ s, holds of 30 s\)", printed)
