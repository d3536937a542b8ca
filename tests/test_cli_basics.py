"""The command line's entry points answer fast, without importing mediapipe or cv2."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import coach

HELP_BUDGET_S = 0.3
COACH_SCRIPT = Path(sys.executable).parent / "coach"


def _fastest_run_s(cmd: list[str], runs: int = 3) -> tuple[float, subprocess.CompletedProcess]:
    """The fastest of a few runs (the first may pay for a cold disk cache)."""
    best_s, last = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        last = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        best_s = min(best_s, time.perf_counter() - start)
    return best_s, last


@pytest.mark.parametrize("args", [["--help"], ["--version"]], ids=["help", "version"])
def test_console_script_answers_within_budget(args):
    if not COACH_SCRIPT.exists():
        pytest.skip(f"console script not installed at {COACH_SCRIPT}")
    elapsed_s, done = _fastest_run_s([str(COACH_SCRIPT), *args])
    assert done.returncode == 0, done.stderr
    assert elapsed_s < HELP_BUDGET_S, f"coach {args[0]} took {elapsed_s:.3f} s"


@pytest.mark.parametrize("args", [["--help"], ["--version"]], ids=["help", "version"])
def test_python_dash_m_answers_within_budget(args):
    elapsed_s, done = _fastest_run_s([sys.executable, "-m", "coach", *args])
    assert done.returncode == 0, done.stderr
    assert elapsed_s < HELP_BUDGET_S, f"python -m coach {args[0]} took {elapsed_s:.3f} s"


def test_version_names_the_package_version():
    done = subprocess.run([sys.executable, "-m", "coach", "--version"], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == f"coach {coach.__version__}"


def test_help_imports_neither_mediapipe_nor_cv2():
    probe = ("import sys\nfrom coach.cli import build_parser\nbuild_parser().format_help()\n"
             "print(' '.join(m for m in ('cv2', 'mediapipe') if m in sys.modules) or 'neither')")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "neither"


def test_record_help_lists_its_options_and_example():
    done = subprocess.run([sys.executable, "-m", "coach", "record", "--help"], capture_output=True, text=True,
                          timeout=30, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    for option in ("--output", "--model", "--num-poses", "--quiet", "lite|full|heavy|PATH"):
        assert option in done.stdout
    assert "coach record stretch.mp4 -o stretch.jsonl.gz" in done.stdout


def test_record_rejects_a_bad_num_poses_before_any_work(tmp_path):
    done = subprocess.run([sys.executable, "-m", "coach", "record", "0", "-o", str(tmp_path / "x.jsonl"),
                           "--num-poses", "0"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "--num-poses" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.jsonl").exists()
