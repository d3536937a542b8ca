"""Find the MediaPipe Pose Landmarker bundle: explicit path -> COACH_MODEL_DIR -> user cache -> download.

`--model` takes `lite`, `full`, `heavy` or the path of a `.task` bundle. A variant name is looked up
as `pose_landmarker_{variant}.task` in `$COACH_MODEL_DIR`, then in the user cache directory, and
is otherwise downloaded from Google's official `float16/latest/` URL into the cache (atomically,
verified against the pinned SHA-256). Files found by name are checked against that hash; an
explicit path is only checked for being a readable bundle (it may be a model of your own).
Every problem is a `ModelError` with a one-line message naming the file and the fix.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

from coach.errors import ModelError

VARIANTS = ("lite", "full", "heavy")
# SHA-256 of Google's float16/latest/ bundles (see ../shared/models/MODELS.md).
SHA256 = {
    "lite": "59929e1d1ee95287735ddd833b19cf4ac46d29bc7afddbbf6753c459690d574a",
    "full": "4eaa5eb7a98365221087693fcc286334cf0858e2eb6e15b506aa4a7ecdcec4ad",
    "heavy": "64437af838a65d18e5ba7a0d39b465540069bc8aae8308de3e318aad31fcbc7b",
}
URL_TEMPLATE = ("https://storage.googleapis.com/mediapipe-models/pose_landmarker/"
                "pose_landmarker_{variant}/float16/latest/pose_landmarker_{variant}.task")
ENV_MODEL_DIR = "COACH_MODEL_DIR"
# One default for every input, live and offline: the same stretch must read the same in `coach live`
# as in `coach analyze` (lite read a head tilt as -11 deg where full read -22 deg, so live never raised
# the neck caution analyze did, and the history mixed the two). `full` is the better of the two that
# keep real time here (14 ms a 640x480 frame against lite's 11 ms and heavy's 45 ms); the shared
# recordings were made with it. `coach live` measures whether it keeps real time on the machine and
# falls back to lite only when it does not (`coach.session.live_model`).
DEFAULT_VARIANT = "full"
DOWNLOAD_TIMEOUT_S = 30.0
_HASH_CHUNK_BYTES = 1 << 20


def model_filename(variant: str) -> str:
    return f"pose_landmarker_{variant}.task"


def model_url(variant: str) -> str:
    return URL_TEMPLATE.format(variant=variant)


def default_variant(kind: str) -> str:
    """The variant used when `--model` is not given: the same for every kind of source (camera,
    video, image, folder); `coach live` may still fall back to lite after measuring."""
    return DEFAULT_VARIANT


def variant_label(name: str) -> str:
    """A model's file name in a word, as the screen and the history show it: "full" for
    pose_landmarker_full.task, a bundle of one's own by its file name, "unknown" for "" (a session
    stored before the model was, or a recording that did not say)."""
    if not name:
        return "unknown"
    return _variant_of(Path(name)) or Path(name).name


def cache_dir() -> Path:
    """Where downloaded bundles are kept (the platform's user cache, e.g. ~/.cache/coach/models)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("coach")) / "models"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _variant_of(path: Path) -> str | None:
    return next((v for v in VARIANTS if path.name == model_filename(v)), None)


def expected_hash_note(path: Path) -> str:
    """What the file should have been: its pinned hash and URL, or (for another name) the official bundles'."""
    variant = _variant_of(path) or "full"
    if _variant_of(path):
        return f"expected SHA-256 {SHA256[variant]}; delete it and download it again from {model_url(variant)}"
    return (f"expected a bundle such as {model_filename(variant)} (SHA-256 {SHA256[variant]}) "
            f"from {model_url(variant)}")


def check_bundle(path: Path) -> Path:
    """A readable zip holding .tflite models, or a ModelError naming the file and the expected hash."""
    if not path.exists():
        raise ModelError(f"{path}: no such model file; pass --model lite|full|heavy or the path of a .task bundle")
    if path.is_dir():
        raise ModelError(f"{path}: is a directory, expected a .task model bundle")
    try:
        with zipfile.ZipFile(path) as bundle:
            has_models = any(n.endswith(".tflite") for n in bundle.namelist())
    except (zipfile.BadZipFile, OSError, EOFError):
        has_models = False
    if not has_models:
        raise ModelError(f"{path}: corrupt or not a MediaPipe .task bundle; {expected_hash_note(path)}")
    return path


def verify_hash(path: Path, variant: str) -> Path:
    """The file itself when its SHA-256 is the pinned one for `variant`, else a ModelError."""
    check_bundle(path)
    actual = sha256_of(path)
    if actual != SHA256[variant]:
        raise ModelError(f"{path}: SHA-256 is {actual}, expected {SHA256[variant]} for "
                         f"{model_filename(variant)}; delete it and download it again from {model_url(variant)}")
    return path


class _RichDownloadBar:
    """The progress-bar object pooch drives (total, update, reset, close), drawn with rich on stderr.

    It appears only once the server has answered (pooch sets `total`), so a failed connection
    leaves nothing on the terminal but the error line."""

    def __init__(self, label: str):
        self.label = label
        self._progress = None
        self._task = None
        self._total: float | None = None

    @property
    def total(self) -> float | None:
        return self._total

    @total.setter
    def total(self, value: float) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        self._total = value or None
        if self._progress is None:
            self._progress = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                                      TransferSpeedColumn(), console=Console(stderr=True), transient=True)
            self._task = self._progress.add_task(self.label, total=self._total)
            self._progress.start()
        self._progress.update(self._task, total=self._total)

    def update(self, n_bytes: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n_bytes)

    def reset(self) -> None:
        if self._progress is not None:
            self._progress.reset(self._task, total=self._total)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def _offline_message(variant: str, folder: Path, reason: str) -> str:
    return (f"cannot download {model_filename(variant)} from {model_url(variant)} ({reason}); "
            f"download it by hand into {folder}, or set {ENV_MODEL_DIR} to the folder holding it, "
            "or pass --model PATH")


def download_model(variant: str, folder: Path, *, progress: bool = True) -> Path:
    """Download `variant` into `folder` atomically, verified against the pinned SHA-256."""
    import pooch
    import requests

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"{folder}: cannot create the model cache folder ({exc.strerror})") from None
    bar = _RichDownloadBar(f"downloading {model_filename(variant)}") if progress else False
    downloader = pooch.HTTPDownloader(progressbar=bar, timeout=DOWNLOAD_TIMEOUT_S)
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")  # pooch announces downloads at INFO; the bar is enough
    try:
        found = pooch.retrieve(model_url(variant), known_hash=f"sha256:{SHA256[variant]}",
                               fname=model_filename(variant), path=folder, downloader=downloader)
    except requests.RequestException as exc:
        response = getattr(exc, "response", None)
        reason = f"HTTP {response.status_code}" if response is not None else type(exc).__name__
        raise ModelError(_offline_message(variant, folder, reason)) from None
    except ValueError:  # pooch: the downloaded file's hash does not match; it was not kept
        raise ModelError(f"{model_url(variant)}: downloaded file does not have the expected SHA-256 "
                         f"{SHA256[variant]}; nothing was saved, try again later") from None
    except OSError as exc:
        raise ModelError(_offline_message(variant, folder, exc.strerror or type(exc).__name__)) from None
    finally:
        logger.setLevel(level)
        if bar:
            bar.close()
    return Path(found)


def resolve_model(spec: str | os.PathLike | None = None, *, kind: str = "video", download: bool = True,
                  progress: bool = True) -> Path:
    """The bundle to load for `--model spec` (None -> the default variant for the source `kind`)."""
    name = default_variant(kind) if spec is None else os.fspath(spec)
    if name.lower() not in VARIANTS:
        return check_bundle(Path(name).expanduser())
    variant = name.lower()
    filename = model_filename(variant)
    env_dir = os.environ.get(ENV_MODEL_DIR)
    if env_dir and (Path(env_dir) / filename).exists():
        return verify_hash(Path(env_dir) / filename, variant)
    cached = cache_dir() / filename
    if cached.exists():
        return verify_hash(cached, variant)
    if not download:
        raise ModelError(_offline_message(variant, cache_dir(), "downloads are switched off"))
    return verify_hash(download_model(variant, cache_dir(), progress=progress), variant)


def describe_load_failure(path: Path, exc: BaseException) -> str:
    """One line for a bundle mediapipe could not load (it raises RuntimeError('Unable to open zip archive.'))."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{path}: MediaPipe cannot load this model bundle ({reason.rstrip('.')}); {expected_hash_note(path)}"
