"""Cut the bundled samples from the shared recordings (run from the repository root):

    python samples/make_samples.py [--shared ../shared/landmarks] [--out samples]

Each cut keeps the frames whose time lies in [start_s, end_s), renumbers them from 0 and shifts
their times so the cut starts at 0 s; the poses are copied unchanged. The truth file beside it is
cut and shifted the same way, and says where it came from under "source".
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
from pathlib import Path

# name -> (shared recording, start_s, end_s): a few seconds around one hold each
CUTS = {
    "bridge": ("bridge__01", 5.0, 11.0),
    "cat_cow": ("cat_cow__01", 0.0, 6.2),
    "seated_spinal_twist": ("seated_spinal_twist__01", 3.0, 8.0),
    "neck_side_bend": ("neck_side_bend__01", 1.0, 7.6),
}
INTERVAL_KEYS = ("segments", "neck", "wrong_form", "cuts", "view", "sides")


def cut_frames(lines: list[str], start_s: float, end_s: float) -> tuple[list[str], float]:
    """The frame lines in [start_s, end_s), renumbered and shifted; and the shift applied (s)."""
    kept, shift_s = [], None
    for line in lines:
        frame = json.loads(line)
        if not start_s <= frame["t"] < end_s:
            continue
        shift_s = frame["t"] if shift_s is None else shift_s
        frame["frame"], frame["t"] = len(kept), round(frame["t"] - shift_s, 4)
        kept.append(json.dumps(frame, separators=(", ", ": ")))
    return kept, shift_s


def cut_intervals(items, start_s: float, end_s: float, shift_s: float):
    """[a, b, ...] intervals clipped to [start_s, end_s] and shifted; other values unchanged."""
    if not isinstance(items, list):
        return items
    out = []
    for a, b, *rest in items:
        a, b = max(a, start_s), min(b, end_s)
        if b > a:
            out.append([round(a - shift_s, 3), round(b - shift_s, 3), *rest])
    return out


def make_cut(shared: Path, out: Path, name: str, source: str, start_s: float, end_s: float) -> None:
    with gzip.open(shared / f"{source}.jsonl.gz", "rt", encoding="utf-8") as fh:
        header, *lines = [line for line in fh.read().splitlines() if line.strip()]
    kept, shift_s = cut_frames(lines, start_s, end_s)
    with open(out / f"{name}.jsonl.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(("\n".join([header, *kept]) + "\n").encode("utf-8"))
    truth = json.loads((shared / f"{source}.truth.json").read_text(encoding="utf-8"))
    duration_s = round(len(kept) / json.loads(header)["fps"], 3)
    for key in INTERVAL_KEYS:  # clipped to the frames kept: [first frame, first frame + duration]
        truth[key] = cut_intervals(truth.get(key, []), shift_s, shift_s + duration_s, shift_s)
    truth.update(frames=len(kept), duration_s=duration_s,
                 source={"recording": f"{source}.jsonl.gz", "start_s": start_s, "end_s": end_s,
                         "shift_s": shift_s})
    (out / f"{name}.truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    repo = Path(__file__).resolve().parent.parent
    shared = Path(os.environ.get("COACH_SHARED", repo.parent / "shared")) / "landmarks"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=shared, help="the shared landmarks folder")
    parser.add_argument("--out", type=Path, default=repo / "samples", help="where to write the cuts")
    args = parser.parse_args()
    for name, (source, start_s, end_s) in CUTS.items():
        make_cut(args.shared, args.out, name, source, start_s, end_s)
        print(f"{name}: {source} [{start_s}, {end_s}) s")


if __name__ == "__main__":
    main()
