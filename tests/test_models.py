"""Model resolution: explicit path -> COACH_MODEL_DIR -> cache -> verified download; one-line errors.

Downloads are tested against a local HTTP server on 127.0.0.1 — never the internet.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import socket
import threading
from pathlib import Path

import pytest

from coach.errors import ModelError
from coach.pose import models

LITE = models.model_filename("lite")


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    """An empty cache and no COACH_MODEL_DIR: nothing is found unless a test puts it there."""
    folder = tmp_path / "cache"
    monkeypatch.setattr(models, "cache_dir", lambda: folder)
    monkeypatch.delenv(models.ENV_MODEL_DIR, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return folder


@pytest.fixture()
def no_download(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(models, "download_model", refuse)


def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def test_one_default_variant_for_every_source():
    """Live and offline read a stretch with the same model (lite read a head tilt half as far as full)."""
    assert [models.default_variant(k) for k in ("camera", "stream", "video", "image", "folder")] == ["full"] * 5


@pytest.mark.parametrize("name, label", [
    ("pose_landmarker_full.task", "full"),
    ("pose_landmarker_lite.task", "lite"),
    ("pose_landmarker_heavy.task", "heavy"),
    ("my_model.task", "my_model.task"),
    ("", "unknown"),
], ids=["full", "lite", "heavy", "own-bundle", "not-stored"])
def test_a_model_is_named_in_a_word(name, label):
    assert models.variant_label(name) == label


def test_explicit_path_wins_and_is_not_hash_checked(tmp_path, cache, no_download, lite_model_path, monkeypatch):
    mine = tmp_path / "my_model.task"
    shutil.copy(lite_model_path, mine)
    monkeypatch.setenv(models.ENV_MODEL_DIR, str(lite_model_path.parent))
    assert models.resolve_model(mine) == mine
    assert models.resolve_model(str(mine)) == mine


def test_env_dir_is_used_for_a_variant_name(cache, no_download, lite_model_path, monkeypatch):
    monkeypatch.setenv(models.ENV_MODEL_DIR, str(lite_model_path.parent))
    assert models.resolve_model("lite") == lite_model_path.parent / LITE
    assert models.resolve_model("LITE") == lite_model_path.parent / LITE
    assert models.resolve_model(None, kind="camera").name == "pose_landmarker_full.task"


def test_cache_is_used_when_the_env_dir_lacks_the_file(tmp_path, cache, no_download, lite_model_path, monkeypatch):
    monkeypatch.setenv(models.ENV_MODEL_DIR, str(tmp_path / "empty"))
    cache.mkdir()
    shutil.copy(lite_model_path, cache / LITE)
    assert models.resolve_model("lite") == cache / LITE


def test_wrong_hash_names_the_file_and_the_expected_hash(tmp_path, cache, model_path, monkeypatch):
    (tmp_path / "models").mkdir()
    shutil.copy(model_path, tmp_path / "models" / LITE)  # a valid bundle, but the full one under the lite name
    monkeypatch.setenv(models.ENV_MODEL_DIR, str(tmp_path / "models"))
    with pytest.raises(ModelError) as err:
        models.resolve_model("lite")
    text = _one_line(err)
    assert str(tmp_path / "models" / LITE) in text and models.SHA256["lite"] in text
    assert models.SHA256["full"] in text  # the hash it actually has


@pytest.mark.parametrize("content", [b"", b"hello, not a zip", b"PK\x03\x04 truncated"], ids=["empty", "text", "bad zip"])
def test_corrupt_bundle_names_the_file_and_the_expected_hash(tmp_path, cache, monkeypatch, content):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / LITE).write_bytes(content)
    monkeypatch.setenv(models.ENV_MODEL_DIR, str(tmp_path / "models"))
    with pytest.raises(ModelError, match="corrupt or not a MediaPipe .task bundle") as err:
        models.resolve_model("lite")
    assert LITE in _one_line(err) and models.SHA256["lite"] in str(err.value)


@pytest.mark.parametrize("make, message", [(lambda p: None, "no such model file"), (Path.mkdir, "is a directory")],
                         ids=["missing", "directory"])
def test_explicit_path_problems(tmp_path, cache, no_download, make, message):
    target = tmp_path / "model.task"
    make(target)
    with pytest.raises(ModelError, match=message) as err:
        models.resolve_model(target)
    assert str(target) in _one_line(err)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def model_server(tmp_path, monkeypatch):
    """Serves tmp_path/served over HTTP on 127.0.0.1 and points the model URL there."""
    served = tmp_path / "served"
    served.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=served))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(models, "URL_TEMPLATE",
                        f"http://127.0.0.1:{server.server_port}/pose_landmarker_{{variant}}.task")
    yield served
    server.shutdown()
    server.server_close()


def test_download_is_verified_and_lands_in_the_cache(cache, model_server, lite_model_path):
    shutil.copy(lite_model_path, model_server / LITE)
    found = models.resolve_model("lite", progress=True)
    assert found == cache / LITE
    assert models.sha256_of(found) == models.SHA256["lite"]
    assert sorted(p.name for p in cache.iterdir()) == [LITE]  # no temporary file left behind
    (model_server / LITE).unlink()
    assert models.resolve_model("lite") == found  # the second time, from the cache


def test_download_with_the_wrong_hash_keeps_nothing(cache, model_server, model_path):
    shutil.copy(model_path, model_server / LITE)  # the server hands out the wrong file
    with pytest.raises(ModelError, match="does not have the expected SHA-256") as err:
        models.resolve_model("lite", progress=False)
    assert models.SHA256["lite"] in _one_line(err) and models.model_url("lite") in str(err.value)
    assert list(cache.iterdir()) == []


def test_missing_on_the_server_is_reported_with_the_url(cache, model_server):
    with pytest.raises(ModelError) as err:
        models.resolve_model("heavy", progress=False)
    assert models.model_url("heavy") in _one_line(err) and str(cache) in str(err.value)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_offline_error_gives_the_url_and_where_to_put_the_file(cache, monkeypatch):
    monkeypatch.setattr(models, "URL_TEMPLATE", f"http://127.0.0.1:{_closed_port()}/pose_landmarker_{{variant}}.task")
    with pytest.raises(ModelError, match="cannot download pose_landmarker_full.task") as err:
        models.resolve_model("full", progress=True)
    text = _one_line(err)
    assert models.model_url("full") in text and str(cache) in text and models.ENV_MODEL_DIR in text
    assert not cache.exists() or list(cache.iterdir()) == []


def test_downloads_can_be_switched_off(cache, no_download):
    with pytest.raises(ModelError, match="downloads are switched off") as err:
        models.resolve_model("full", download=False)
    assert models.model_url("full") in _one_line(err)


def test_pinned_hashes_match_the_shared_checksums(shared_dir):
    pinned = dict(line.split()[::-1] for line in (shared_dir / "models" / "SHA256SUMS").read_text().splitlines()
                  if line.strip())
    assert {models.model_filename(v): h for v, h in models.SHA256.items()} == pinned
    assert all("/float16/latest/" in models.model_url(v) for v in models.VARIANTS)
