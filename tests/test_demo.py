"""`coach demo`: the bundled samples analysed with no camera, no video and no model."""

from __future__ import annotations

import json

from coach import cli, samples_dir
from coach.cli.demo import samples


def test_demo_samples_name_their_exercises():
    found = samples()
    assert len(found) == len(list(samples_dir().glob("*.jsonl.gz"))) >= 4
    assert all(exercise != "auto" for _, exercise in found), found


def test_demo_analyses_every_sample(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COACH_MODEL_DIR", str(tmp_path / "no-models-here"))   # proves no model is needed
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
