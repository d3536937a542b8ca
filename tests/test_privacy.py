"""Nothing leaves the machine: coach analyses a photo with no network at all, and MediaPipe's usage
upload (which it makes when a landmarker closes) is blocked before it can even look its host up.

No network: a user and network namespace (`unshare -rn`: only a loopback that is down) when the
machine allows it, else every socket connection refused from inside the process (a sitecustomize
that patches `socket.socket.connect`), which covers coach's own Python code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coach.pose import detector

PHOTO, EXERCISE = "bridge__Butt_Lift_Bridge__0.jpg", "bridge"  # a held bridge, seen from the side
TIMEOUT_S = 120
REQUIRE_STRACE = os.environ.get("COACH_REQUIRE_STRACE") == "1"  # .ci/run sets it once strace is installed

REFUSE_SOCKETS = '''import socket
def _refused(self, *args, **kwargs):
    raise ConnectionRefusedError("no network in this test")
socket.socket.connect = _refused
socket.socket.connect_ex = _refused
socket.create_connection = lambda *a, **k: _refused(None)
'''


def _unshare_works() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    try:
        return subprocess.run([unshare, "-rn", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _offline_command(tmp: Path) -> tuple[list[str], dict]:
    """How to run `python -m coach` with no network here: a namespace, else refused sockets."""
    if _unshare_works():
        return ["unshare", "-rn", sys.executable, "-m", "coach"], {}
    site = tmp / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(REFUSE_SOCKETS)
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return [sys.executable, "-m", "coach"], {"PYTHONPATH": path}


@pytest.mark.model
def test_analyze_works_with_no_network(photos_dir, model_path, tmp_path):
    command, env = _offline_command(tmp_path)
    out = tmp_path / "out"
    done = subprocess.run([*command, "analyze", str(photos_dir / PHOTO), "--exercise", EXERCISE,
                           "--model", str(model_path), "--out", str(out), "-q"],
                          capture_output=True, text=True, timeout=TIMEOUT_S, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    (session_file,) = out.rglob("session.json")
    session = json.loads(session_file.read_text())
    assert session["exercise"] == EXERCISE and session["frames"] == 1 and not session["partial"]


@pytest.mark.model
def test_no_host_is_looked_up_or_contacted_off_this_machine(photos_dir, model_path, tmp_path):
    """strace sees every connect and datagram: no DNS query, no address but loopback."""
    strace = shutil.which("strace")
    if strace is None:
        if REQUIRE_STRACE:
            pytest.fail("strace is not installed (COACH_REQUIRE_STRACE=1)")
        pytest.skip("strace is not installed")
    trace = tmp_path / "trace.txt"
    done = subprocess.run([strace, "-f", "-qq", "-s", "256", "-e", "trace=connect,sendto,sendmsg,sendmmsg",
                           "-o", str(trace), sys.executable, "-m", "coach", "analyze", str(photos_dir / PHOTO),
                           "--exercise", EXERCISE, "--model", str(model_path), "--out", str(tmp_path / "out"), "-q"],
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    calls = [line for line in trace.read_text().splitlines() if "sin_addr" in line or "sin6_addr" in line]
    assert not [c for c in calls if "htons(53)" in c], "a host name was looked up:\n" + "\n".join(calls)
    assert not [c for c in calls if 'inet_addr("127.' not in c and 'inet_pton(AF_INET6, "::1"' not in c], (
        "a connection left the machine:\n" + "\n".join(calls))
    assert "googleapis" not in trace.read_text()


PROXY_CASES = [
    # (the user's own proxy settings before, as they must be again after)
    pytest.param({}, id="none-set"),
    pytest.param({"https_proxy": "http://proxy.example:3128", "NO_PROXY": "localhost,*"}, id="user-proxy-kept"),
]


@pytest.mark.model
@pytest.mark.parametrize("before", PROXY_CASES)
def test_the_upload_block_lasts_while_a_landmarker_is_open_and_is_undone_after(before, lite_model_path,
                                                                                monkeypatch):
    names = detector._PROXY_VARS + detector._NO_PROXY_VARS
    for name in names:
        monkeypatch.delenv(name, raising=False)
    for name, value in before.items():
        monkeypatch.setenv(name, value)
    with detector.PoseDetector(lite_model_path, "image"):
        with detector.PoseDetector(lite_model_path, "image"):
            pass
        assert all(os.environ.get(n) == detector._BLOCKING_PROXY for n in detector._PROXY_VARS), "still blocked"
        assert not any(n in os.environ for n in detector._NO_PROXY_VARS)
    assert {n: os.environ[n] for n in names if n in os.environ} == before
