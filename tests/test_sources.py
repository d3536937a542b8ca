"""Frame sources: every input becomes C-contiguous RGB uint8 frames with strictly increasing t_s."""

from __future__ import annotations

import struct
import threading
import time

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from coach.errors import InputError
from coach.io.sources import (
    RateCap,
    _increasing,
    apply_orientation,
    image_files,
    open_source,
    read_image,
    source_kind,
    to_rgb8,
)

H, W = 48, 64


def _plain(value_bgr: tuple[int, int, int], size=(H, W)) -> np.ndarray:
    return np.full((*size, 3), value_bgr, np.uint8)


def write_test_video(path, frames_rgb, fps: float, fourcc: str = "mp4v", is_color: bool = True) -> int:
    """Write frames (RGB, or gray when not `is_color`) with OpenCV; returns how many. Shared by the tests."""
    writer, count = None, 0
    try:
        for image in frames_rgb:
            if writer is None:
                size = (image.shape[1], image.shape[0])
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size, isColor=is_color)
            writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if is_color else image)
            count += 1
    finally:
        if writer is not None:
            writer.release()
    return count


def _is_clean_rgb(rgb: np.ndarray) -> bool:
    return rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.flags.c_contiguous


# --- pixels -----------------------------------------------------------------------------------

CONVERSIONS = [  # (name, input, order, expected RGB of every pixel)
    ("gray8", np.full((H, W), 77, np.uint8), "bgr", (77, 77, 77)),
    ("gray8 one channel", np.full((H, W, 1), 77, np.uint8), "bgr", (77, 77, 77)),
    ("gray16", np.full((H, W), 0xAB12, np.uint16), "bgr", (0xAB, 0xAB, 0xAB)),
    ("bgr8", _plain((10, 20, 30)), "bgr", (30, 20, 10)),
    ("rgb8", _plain((10, 20, 30)), "rgb", (10, 20, 30)),
    ("bgr16", np.full((H, W, 3), (0x0A00, 0x1400, 0x1E00), np.uint16), "bgr", (30, 20, 10)),
    ("bgra opaque", np.full((H, W, 4), (10, 20, 30, 255), np.uint8), "bgr", (30, 20, 10)),
    ("bgra transparent", np.full((H, W, 4), (10, 20, 30, 0), np.uint8), "bgr", (255, 255, 255)),
    ("gray+alpha half", np.full((H, W, 2), (0, 128), np.uint8), "bgr", (127, 127, 127)),
    ("float 0..1", np.full((H, W, 3), 0.5, np.float32), "rgb", (128, 128, 128)),
]


@pytest.mark.parametrize("image, order, expected", [c[1:] for c in CONVERSIONS], ids=[c[0] for c in CONVERSIONS])
def test_to_rgb8_converts_every_layout_to_contiguous_rgb(image, order, expected):
    rgb = to_rgb8(image, order=order)
    assert _is_clean_rgb(rgb) and rgb.shape[:2] == (H, W)
    assert np.abs(rgb.astype(int) - np.array(expected)).max() <= 1


def test_to_rgb8_copies_a_sliced_view_into_contiguous_memory():
    wide = np.zeros((H, 2 * W, 3), np.uint8)
    wide[:, ::2] = (1, 2, 3)
    rgb = to_rgb8(wide[:, ::2], order="rgb")
    assert rgb.flags.c_contiguous and (rgb == (1, 2, 3)).all()


@pytest.mark.parametrize("image", [np.zeros((H, W, 5), np.uint8), np.zeros((0, W, 3), np.uint8),
                                   np.zeros((H, W), np.int32)], ids=["5 channels", "empty", "int32"])
def test_to_rgb8_rejects_what_is_not_an_image(image):
    with pytest.raises(ValueError):
        to_rgb8(image)


def _image_file(tmp_path, name: str, array: np.ndarray) -> str:
    path = tmp_path / name
    assert cv2.imwrite(str(path), array)
    return path


def test_read_image_of_gray_rgba_and_16_bit_files(tmp_path):
    rgba = np.full((H, W, 4), (10, 20, 30, 255), np.uint8)
    rgba[:, : W // 2, 3] = 0  # the left half transparent
    gray = read_image(_image_file(tmp_path, "gray.png", np.full((H, W), 90, np.uint8)))
    alpha = read_image(_image_file(tmp_path, "rgba.png", rgba))
    deep = read_image(_image_file(tmp_path, "deep.png", np.full((H, W, 3), 0xC800, np.uint16)))
    assert all(_is_clean_rgb(a) for a in (gray, alpha, deep))
    assert (gray == 90).all() and (deep == 0xC8).all()
    assert (alpha[:, : W // 2] == 255).all() and (alpha[:, W // 2:] == (30, 20, 10)).all()


def test_read_image_expands_a_palette_png(tmp_path):
    colours = np.zeros((H, W, 3), np.uint8)
    colours[:, W // 2:] = (200, 50, 0)
    Image.fromarray(colours).convert("P", palette=Image.Palette.ADAPTIVE, colors=4).save(tmp_path / "pal.png")
    rgb = read_image(tmp_path / "pal.png")
    assert _is_clean_rgb(rgb) and tuple(rgb[0, -1]) == (200, 50, 0) and tuple(rgb[0, 0]) == (0, 0, 0)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_honoured_like_pillow(tmp_path, orientation):
    pixels = np.zeros((40, 80, 3), np.uint8)
    pixels[:10, :20] = (255, 0, 0)  # a red mark in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(tmp_path / "o.png", exif=exif.tobytes())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "o.png")).convert("RGB"))
    got = read_image(tmp_path / "o.png")
    assert got.shape == expected.shape and (got == expected).all()
    assert (apply_orientation(pixels, 1) == pixels).all()


def test_read_image_names_a_file_that_is_not_an_image(tmp_path):
    (tmp_path / "notes.png").write_text("not pixels")
    with pytest.raises(InputError, match=r"notes\.png: not an image"):
        read_image(tmp_path / "notes.png")


# --- kinds and folders ------------------------------------------------------------------------

def test_source_kind_table(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"\0")
    (tmp_path / "p.PNG").write_bytes(b"\0")
    (tmp_path / "r.jsonl.gz").write_bytes(b"\0")
    (tmp_path / "folder").mkdir()
    assert [source_kind(s) for s in ("0", 3, tmp_path / "clip.mp4", tmp_path / "p.PNG", tmp_path / "r.jsonl.gz",
                                     tmp_path / "folder")] == ["camera", "camera", "video", "image", "recording",
                                                               "folder"]


@pytest.mark.parametrize("name, message", [("missing.mp4", "no such file"), ("dir.mp4", "is a directory"),
                                           ("dir.jsonl", "is a directory")])
def test_source_kind_names_the_problem(tmp_path, name, message):
    (tmp_path / "dir.mp4").mkdir()
    (tmp_path / "dir.jsonl").mkdir()
    with pytest.raises(InputError, match=message) as err:
        source_kind(tmp_path / name)
    assert name in str(err.value) and "\n" not in str(err.value)


def test_a_recording_is_not_opened_as_pixels(tmp_path):
    (tmp_path / "r.jsonl").write_text("{}\n")
    with pytest.raises(InputError, match="landmark recording"):
        open_source(tmp_path / "r.jsonl")


def test_folder_yields_images_in_natural_order_fps_apart(tmp_path):
    for i in (10, 2, 1):
        _image_file(tmp_path, f"frame{i}.png", np.full((H, W), i, np.uint8))
    (tmp_path / "notes.txt").write_text("skipped")
    assert [p.name for p in image_files(tmp_path)] == ["frame1.png", "frame2.png", "frame10.png"]
    source = open_source(tmp_path, fps=4.0)
    frames = list(source.frames())
    assert (source.info.kind, source.info.fps, source.info.frame_count) == ("folder", 4.0, 3)
    assert [(f.index, f.t_s, int(f.rgb[0, 0, 0])) for f in frames] == [(0, 0.0, 1), (1, 0.25, 2), (2, 0.5, 10)]


def test_an_empty_folder_is_an_error(tmp_path):
    with pytest.raises(InputError, match="holds no images"):
        open_source(tmp_path)


# --- videos and cameras ----------------------------------------------------------------------

def _colour_video(path, n_frames: int = 20, fps: float = 25.0, fourcc: str = "mp4v"):
    """Frame i is a flat colour with red = 10 * i, so frames can be told apart after decoding."""
    frames = (np.full((H * 4, W * 4, 3), (10 * i, 0, 255 - 10 * i), np.uint8) for i in range(n_frames))
    assert write_test_video(path, frames, fps, fourcc) == n_frames
    return path


def test_video_frames_are_rgb_with_container_timestamps(tmp_path):
    source = open_source(_colour_video(tmp_path / "c.mp4", fps=25.0))
    frames = list(source.frames())
    assert (source.info.kind, source.info.fps, source.info.size_px, source.info.frame_count) == ("video", 25.0,
                                                                                             (W * 4, H * 4), 20)
    assert [f.index for f in frames] == list(range(20))
    assert np.allclose([f.t_s for f in frames], np.arange(20) / 25.0, atol=1e-6)
    assert all(_is_clean_rgb(f.rgb) for f in frames)
    assert abs(int(frames[5].rgb[10, 10, 0]) - 50) <= 6 and frames[5].rgb[10, 10, 2] > 150  # red stays red


def _top_box(data: bytes, name: bytes) -> int:
    i = 0
    while i < len(data):
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        if kind == name:
            return i
        i += size
    raise AssertionError(f"no {name} box")


def _with_sample_durations(data: bytes, entries: list[tuple[int, int]]) -> bytes:
    """The MP4 with its time-to-sample table ('stts') replaced: a variable-frame-rate file."""
    moov = _top_box(data, b"moov")
    at = data.find(b"stts", moov) - 4
    old_size = struct.unpack(">I", data[at:at + 4])[0]
    new = struct.pack(">I4sII", 16 + 8 * len(entries), b"stts", 0, len(entries))
    new += b"".join(struct.pack(">II", count, delta) for count, delta in entries)
    out = bytearray(data[:at] + new + data[at + old_size:])
    for name in (b"trak", b"mdia", b"minf", b"stbl"):  # the boxes holding stts grow with it
        box = out.find(name, moov) - 4
        out[box:box + 4] = struct.pack(">I", struct.unpack(">I", out[box:box + 4])[0] + len(new) - old_size)
    out[moov:moov + 4] = struct.pack(">I", struct.unpack(">I", out[moov:moov + 4])[0] + len(new) - old_size)
    return bytes(out)


def test_variable_frame_rate_video_keeps_its_real_timestamps(tmp_path):
    plain = _colour_video(tmp_path / "c.mp4", fps=25.0).read_bytes()  # timescale 12800: 512 ticks a frame
    (tmp_path / "vfr.mp4").write_bytes(_with_sample_durations(plain, [(10, 256), (10, 768)]))
    t_s = [f.t_s for f in open_source(tmp_path / "vfr.mp4").frames()]
    expected = [i * 0.02 for i in range(10)] + [0.2 + i * 0.06 for i in range(10)]
    assert np.allclose(t_s, expected, atol=1e-6)


@pytest.mark.parametrize("rate_hz", [pytest.param(30.0, id="30Hz"), pytest.param(10.0, id="10Hz"),
                                     pytest.param(None, id="off")])
def test_a_rate_cap_keeps_a_variable_rate_videos_true_times_and_frame_numbers(tmp_path, rate_hz):
    plain = _colour_video(tmp_path / "c.mp4", fps=25.0).read_bytes()
    (tmp_path / "vfr.mp4").write_bytes(_with_sample_durations(plain, [(10, 256), (10, 768)]))   # 50 fps, then 16.7
    every = [i * 0.02 for i in range(10)] + [0.2 + i * 0.06 for i in range(10)]
    got = [(f.index, f.t_s) for f in open_source(tmp_path / "vfr.mp4").frames(max_rate_hz=rate_hz)]
    assert np.allclose([t for _, t in got], [every[i] for i, _ in got], atol=1e-6)   # their own times
    kept = [i for i, _ in got]
    if rate_hz is None:
        assert kept == list(range(20))
    elif rate_hz == 30.0:   # the 50 fps part is thinned to 30 frames/s, the 16.7 fps part is whole
        assert kept == [0, 2, 3, 5, 7, 8, *range(10, 20)]
    # never more than rate_hz a second, over any stretch
    for a in range(len(kept)):
        for b in range(a + 1, len(kept)):
            span_s = every[kept[b]] - every[kept[a]]
            assert b - a <= (rate_hz or 1e9) * span_s + 1 + 1e-9


@pytest.mark.parametrize("rate_hz, kept", [pytest.param(30.0, [0, 2, 4], id="60fps-at-30"),
                                           pytest.param(60.0, [0, 1, 2, 3, 4, 5], id="cap-at-the-rate"),
                                           pytest.param(None, [0, 1, 2, 3, 4, 5], id="off")])
def test_rate_cap_on_60fps(rate_hz, kept):
    keep = RateCap(rate_hz)
    assert [i for i in range(6) if keep(i / 60.0)] == kept


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_a_bad_rate_cap_is_refused(bad):
    with pytest.raises(ValueError, match="rate_hz"):
        RateCap(bad)


def test_rotation_metadata_turns_the_frames(tmp_path):
    data = bytearray(_colour_video(tmp_path / "c.mp4").read_bytes())
    tkhd = data.find(b"tkhd", _top_box(bytes(data), b"moov")) - 4
    data[tkhd + 48:tkhd + 84] = struct.pack(">9i", 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)  # 90 degrees
    (tmp_path / "rot.mp4").write_bytes(bytes(data))
    source = open_source(tmp_path / "rot.mp4")
    first = next(iter(source.frames()))
    assert source.info.size_px == (H * 4, W * 4) and first.rgb.shape == (W * 4, H * 4, 3)


def test_increasing_forces_time_forward():
    assert _increasing(0.5, 0.4, 0.04) == 0.5
    assert _increasing(0.4, 0.4, 0.04) == pytest.approx(0.44)   # a repeated timestamp
    assert _increasing(float("nan"), 0.4, 0.04) == pytest.approx(0.44)
    assert _increasing(float("nan"), -np.inf, 0.04) == 0.0


def _reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "coach-read" and t.is_alive()]


def test_closing_a_video_early_stops_its_decoding_thread(tmp_path):
    frames = open_source(_colour_video(tmp_path / "c.mp4", n_frames=60)).frames()
    next(frames)
    assert len(_reader_threads()) == 1
    frames.close()
    assert _reader_threads() == []


def test_truncated_video_fails_after_the_frames_it_has(tmp_path):
    data = _colour_video(tmp_path / "c.avi", n_frames=20, fourcc="MJPG").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[: len(data) // 2])
    seen = []
    with pytest.raises(InputError, match=r"cut\.avi: video is truncated") as err:
        seen.extend(open_source(tmp_path / "cut.avi").frames())
    assert 0 < len(seen) < 20 and "\n" not in str(err.value)
    assert _reader_threads() == []


def test_missing_camera_fails_fast():
    start = time.perf_counter()
    with pytest.raises(InputError, match="camera 57: no such camera"):
        open_source("57")
    assert time.perf_counter() - start < 3.0
