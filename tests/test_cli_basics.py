"""The command line's entry points answer fast, without importing mediapipe or cv2."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import coach
from coach.cli import options

HELP_BUDGET_S = 0.3      # CPU seconds the command may cost (what it does, whatever the machine's load)
WALL_GUARD_S = 1.0       # wall-clock guard against a hang or a heavy import on a busy machine
COACH_SCRIPT = Path(sys.executable).parent / "coach"


def _cheapest_run(cmd: list[str], runs: int = 5) -> tuple[float, float, int, str]:
    """(CPU seconds, wall seconds, exit code, stdout) of the cheapest of a few runs of `cmd`."""
    best = (float("inf"), float("inf"), -1, "")
    for _ in range(runs):
        start = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        stdout = child.stdout.read()
        child.stdout.close()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall_s = time.perf_counter() - start
        best = min(best, (usage.ru_utime + usage.ru_stime, wall_s, child.returncode, stdout))
    return best


@pytest.mark.parametrize("args", [["--help"], ["--version"]], ids=["help", "version"])
def test_console_script_answers_within_budget(args):
    if not COACH_SCRIPT.exists():
        pytest.skip(f"console script not installed at {COACH_SCRIPT}")
    cpu_s, wall_s, code, stdout = _cheapest_run([str(COACH_SCRIPT), *args])
    assert code == 0 and "coach" in stdout
    assert cpu_s < HELP_BUDGET_S and wall_s < WALL_GUARD_S, f"coach {args[0]}: {cpu_s:.3f} s CPU, {wall_s:.3f} s"


@pytest.mark.parametrize("args", [["--help"], ["--version"]], ids=["help", "version"])
def test_python_dash_m_answers_within_budget(args):
    cpu_s, wall_s, code, stdout = _cheapest_run([sys.executable, "-m", "coach", *args])
    assert code == 0 and "coach" in stdout
    assert cpu_s < HELP_BUDGET_S and wall_s < WALL_GUARD_S, f"python -m coach {args[0]}: {cpu_s:.3f} s CPU, {wall_s:.3f} s"


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
    for option in ("--out", "--model", "--num-poses", "--quiet", "lite|full|heavy|PATH"):
        assert option in done.stdout
    assert "coach record stretch.mp4 -o stretch.jsonl.gz" in done.stdout


@pytest.mark.parametrize("value", ["-1", "101", "two"])
def test_record_rejects_a_bad_num_poses_before_any_work(tmp_path, value):
    """101: a recording's header may say at most 100 people (coach.pose.recording.MAX_NUM_POSES)."""
    from coach.cli.options import MAX_NUM_POSES
    from coach.pose.recording import MAX_NUM_POSES as RECORDING_MAX

    assert MAX_NUM_POSES == RECORDING_MAX
    done = subprocess.run([sys.executable, "-m", "coach", "record", "0", "-o", str(tmp_path / "x.jsonl"),
                           "--num-poses", value], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "--num-poses" in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.startswith("coach record: error: argument --num-poses") and done.stderr.count("\n") == 1
    assert not (tmp_path / "x.jsonl").exists()


def _every_parser(parser, name="coach"):
    import argparse

    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _every_parser(sub, f"{name} {sub_name}")


def test_every_command_help_has_an_example():
    from coach.cli import build_parser

    parsers = dict(_every_parser(build_parser()))
    assert {"coach record", "coach exercises show", "coach exercises validate"} <= set(parsers)
    for name, parser in parsers.items():
        assert "Example" in parser.format_help() and "coach " in parser.epilog, name


def test_the_num_poses_option_default_is_the_detectors():
    import argparse

    from coach.cli.options import add_num_poses
    from coach.pose.detector import DEFAULT_NUM_POSES

    parser = argparse.ArgumentParser()
    add_num_poses(parser)
    assert parser.parse_args([]).num_poses == DEFAULT_NUM_POSES
    assert f"(default {DEFAULT_NUM_POSES})" in parser.format_help()


# --- the common options: one definition (coach/cli/options.py), the same on every command ----------

def _commands() -> dict:
    from coach.cli import build_parser

    return {name.removeprefix("coach "): parser for name, parser in _every_parser(build_parser())}


def _option(parser, flag: str):
    return next((a for a in parser._actions if flag in a.option_strings), None)


# (flag, every option string, the text its help holds, the commands that take it)
COMMON = [
    ("--model", ["--model"], "MODEL_HELP", ("record", "analyze", "live", "teach", "compare")),
    ("--exercises", ["--exercises"], None, ("analyze", "live", "compare", "exercises list", "exercises show")),
    ("-q", ["-q", "--quiet"], "QUIET_HELP", ("demo", "record", "analyze", "live", "teach", "compare")),
    ("--out DIR", ["-o", "--out"], "OUT_FOLDER_HELP", ("demo", "analyze", "live", "compare")),
    ("--out FILE", ["-o", "--out"], "OUT_FILE_HELP", ("record", "teach")),
    ("--num-poses", ["--num-poses"], None, ("record", "analyze", "live")),
    ("--no-history", ["--no-history"], None, ("analyze", "live", "compare")),
    ("--db", ["--db"], None, ("analyze", "live", "compare", "history")),
    ("--mine", ["--mine"], None, ("analyze", "compare")),
    ("--verbose", ["--verbose"], None, ("record", "analyze", "live", "teach", "compare")),
]


@pytest.mark.parametrize("flag, strings, shared, commands", COMMON, ids=[row[0] for row in COMMON])
def test_a_common_option_is_the_same_on_every_command_that_takes_it(flag, strings, shared, commands):
    parsers = _commands()
    found = {name: _option(parsers[name], strings[-1]) for name in commands}
    assert [name for name, action in found.items() if action is None] == [], f"{flag}: missing on these commands"
    first = found[commands[0]]
    for name, action in found.items():
        assert action.option_strings == strings and action.dest == first.dest, (flag, name, action.option_strings)
        assert action.metavar == first.metavar and type(action) is type(first), (flag, name)
        if shared is None:
            assert action.help == first.help, (flag, name, action.help)
        else:
            assert getattr(options, shared) in action.help, (flag, name, action.help)
    takers = {name for name, parser in parsers.items() if (a := _option(parser, strings[-1])) is not None
              and a.metavar == first.metavar}
    assert takers == set(commands), f"{flag}: the table misses a command that takes it"


@pytest.mark.parametrize("argv, dest", [
    (["record", "0", "--output", "x.jsonl"], "out"),
    (["teach", "demo.mp4", "--id", "a", "--output", "a.toml"], "out"),
    (["live", "--exercise", "bridge", "--output", "folder"], "out"),
    (["live", "-e", "bridge", "-o", "folder"], "out"),
], ids=["record --output", "teach --output", "live --output", "live -e -o"])
def test_the_old_spellings_still_work(argv, dest):
    from coach.cli import build_parser

    args = build_parser().parse_args(argv)
    assert getattr(args, dest) == argv[-1]
    assert "--output" not in build_parser().format_help()



@pytest.mark.parametrize("command", ["record", "analyze", "live", "teach", "compare"])
@pytest.mark.parametrize("model, problem", [("tiny", "tiny: is no model name, and no such model file"),
                                            (".", ".: is a directory")], ids=["unknown name", "folder"])
def test_an_unknown_model_is_refused_by_every_command_before_any_work(capsys, command, model, problem):
    """--model tiny is wrong whatever the input - a recording, which needs no model, too: one line,
    exit 2, before anything is read (the input named here does not even exist)."""
    from coach.cli import main

    inputs = {"record": ["x.mp4", "-o", "x.jsonl"], "analyze": ["x.jsonl.gz"], "live": ["--exercise", "bridge",
              "--source", "x.jsonl.gz"], "teach": ["x.jsonl.gz"], "compare": ["x.jsonl.gz", "y.jsonl.gz"]}[command]
    with pytest.raises(SystemExit) as end:
        main([command, *inputs, "--model", model])
    assert end.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--model" in err[0] and problem in err[0] and "lite, full, heavy" in err[0], err
