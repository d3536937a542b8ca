"""Shared recordings as teach / compare read them, read once per test session (cached here so that
test_teach.py and test_compare.py share the work), and the truth files' hold segments."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from coach.measure.measures import compute_measures
from coach.physio.teach import MeasureSeries
from coach.pose.recording import Recording

RECORDINGS = ("bridge__01", "cat_cow__01", "childs_pose__01", "neck_side_bend__01", "prone_extension__01",
              "seated_spinal_twist__01", "supine_twist__01")


@lru_cache(maxsize=None)
def load(landmarks_dir: Path, name: str) -> tuple[tuple, MeasureSeries]:
    """(PoseFrames, MeasureSeries) of a shared recording."""
    frames = tuple(Recording(landmarks_dir / f"{name}.jsonl.gz").frames())
    measures = [compute_measures(f.pose, f.others) for f in frames]
    return frames, MeasureSeries.from_measures([f.t_s for f in frames], measures)


def truth_holds(landmarks_dir: Path, name: str) -> list[tuple[float, float]]:
    segments = json.loads((landmarks_dir / f"{name}.truth.json").read_text())["segments"]
    return [(a, b) for a, b, state in segments if state == "hold"]


def stretched(series: MeasureSeries, factor: float = 1.5) -> MeasureSeries:
    """The same movement `factor` times slower: each frame repeated at the original frame rate."""
    n = int(len(series) * factor)
    idx = np.minimum(np.round(np.arange(n) / factor).astype(int), len(series) - 1)
    dt = float(np.median(np.diff(series.t_s)))
    return MeasureSeries(series.t_s[0] + dt * np.arange(n), series.values[idx], series.rank[idx],
                         tuple(series.views[i] for i in idx), tuple(series.postures[i] for i in idx))


def first_seconds(source: Path, path: Path, seconds: float) -> Path:
    """Write the first `seconds` of recording `source` to `path` (a short demo or patient clip)."""
    from coach.pose.recording import RecordingWriter

    rec = Recording(source)
    with RecordingWriter(path, rec.info) as writer:
        for pf in rec.frames():
            if pf.t_s >= seconds:
                break
            writer.write(pf)
    return path
