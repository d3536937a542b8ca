"""`coach record SOURCE -o OUT.jsonl[.gz]`: pose landmarks from any source into a pose-landmarks/1 file.

SOURCE is a camera index (digits), a video, an image, a folder of images or another recording (which
is copied, the person exercising first). The header says what the landmarks were detected with
(model, poses looked for, running mode, confidences; a copy keeps its source's). The output is
written atomically and is valid after Ctrl-C, SIGTERM or SIGHUP: every frame recorded so far is
kept, the header says `"partial": true`, and the command exits 130 (143, 129). An existing OUT is
replaced only when it is a recording (never the input itself). A full disk is a one-line error and
leaves OUT as it was. Nothing heavy is imported until `run`.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from coach.cli.options import add_model, add_num_poses, add_out_file, add_quiet
from coach.errors import OutputError

HELP = "record pose landmarks from a camera, video, image, folder or recording to a .jsonl[.gz] file"
EXAMPLE = "coach record stretch.mp4 -o stretch.jsonl.gz --model full"


def _positive_fps(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a frame rate in frames per second, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive frame rate, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE",
                        help="camera index (0, 1, ...), video, image, folder of images, or .jsonl[.gz] recording")
    add_out_file(parser, "the recording to write: FILE.jsonl, or FILE.jsonl.gz to compress it", required=True)
    add_model(parser, default="full")
    add_num_poses(parser)
    parser.add_argument("--fps", type=_positive_fps, default=None,
                        help="frame rate given to images and folders of images (default 1.0)")
    parser.add_argument("--label", default=None, help="the stretch shown, stored in the header (free text)")
    add_quiet(parser)


# A recording's header line is about 1 KB; this much of the file is read to recognise one.
HEADER_PROBE_BYTES = 64 * 1024


def is_recording_file(path: Path) -> bool:
    """Whether `path` is a regular file whose first line is a pose-landmarks/1 header."""
    import gzip
    import json
    import zlib

    from coach.pose.recording import FORMAT

    try:
        if path.is_symlink() or not path.is_file():
            return False
        with open(path, "rb") as raw:
            zipped = raw.read(2) == b"\x1f\x8b"
        with (gzip.open if zipped else open)(path, "rb") as fh:
            head = fh.readline(HEADER_PROBE_BYTES)
        data = json.loads(head)
    except (OSError, EOFError, zlib.error, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT


def _check_output(path: Path, source: str) -> None:
    """A recording replaces only a recording, and never the one it reads."""
    if path.is_dir():
        raise OutputError(f"{path}: is a directory, expected a .jsonl or .jsonl.gz file to write")
    if not path.name.lower().endswith((".jsonl", ".jsonl.gz")):
        raise OutputError(f"{path}: a recording's name must end in .jsonl or .jsonl.gz")
    if not (path.exists() or path.is_symlink()):
        return
    if Path(source).exists() and Path(source).resolve() == path.resolve():
        raise OutputError(f"{path}: is the input being recorded from; choose another output")
    if not is_recording_file(path):
        raise OutputError(f"{path}: exists and is not a landmark recording; coach does not replace it - "
                          "move it or choose another output")


@contextlib.contextmanager
def _progress(total: int | None, name: str, quiet: bool) -> Iterator[Callable[[], None]]:
    """A rich progress bar on stderr (a counter when the total is unknown); `advance()` per frame."""
    from rich.console import Console

    console = Console(stderr=True)
    if quiet or not console.is_terminal:  # piped or logged: rich would leave a blank line behind
        yield lambda: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(f"recording {Path(name).name}", total=total)
        yield lambda: bar.advance(task)


def _record(stream, output: Path, header, quiet: bool) -> int:
    """Write every PoseFrame of `stream`; the file is created only once the first frame is in hand, so
    an input that fails at once leaves no file (and an existing OUT untouched). Returns frames written.
    The header says what the poses were detected with, known by then (the detector starts on the
    first frame; a recording copied keeps its own header's settings)."""
    from dataclasses import replace

    from coach.errors import BadValueError, CoachError, OutputError
    from coach.pose.recording import RecordingWriter

    writer = None
    with contextlib.closing(iter(stream)) as pose_frames:
        first = next(pose_frames, None)
        settings = dict(stream.detector_settings)
        header = replace(header, model=settings.pop("model", header.model), settings=settings)
        try:
            with RecordingWriter(output, header) as writer, \
                    _progress(stream.info.frame_count, stream.info.path, quiet) as advance:
                for pose_frame in itertools.chain([first] if first is not None else [], pose_frames):
                    writer.write(pose_frame)  # Ctrl-C anywhere here: the writer keeps what is written
                    advance()
        except CoachError as err:   # the input failed part way (a recording cut short): the error says what was kept
            if isinstance(err, (BadValueError, OutputError)) or writer is None or not writer.frames_written:
                raise   # nothing was kept
            kept = "the frame" if writer.frames_written == 1 else f"the {writer.frames_written} frames"
            raise type(err)(f"{err}; kept {kept} before it in {output}, marked partial") from None
    return writer.frames_written


def run(args: argparse.Namespace) -> int:
    from coach.pose.recording import RecordingInfo
    from coach.session.feed import open_feed

    output = Path(args.out)
    _check_output(output, args.source)
    with open_feed(args.source, model=args.model, num_poses=args.num_poses, fps=args.fps,
                    download_progress=not args.quiet) as stream:
        info = stream.info
        header = RecordingInfo(fps=info.fps, width=info.size_px[0], height=info.size_px[1], model=info.model,
                               label=args.label if args.label is not None else info.label)
        written = _record(stream, output, header, args.quiet)
    if not args.quiet:
        from coach.usertext import printable

        print(printable(f"recorded {written} frames from {info.path} to {output}"), file=sys.stderr)
    return 0
