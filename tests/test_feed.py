"""One feed: the thread helper and its two policies, the one input record, frames chosen by timestamp."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from coach.errors import InputError
from coach.io.background import LATEST, LOSSLESS, Background, End, Mailbox, prefetch
from coach.io.sources import InputInfo
from coach.session.feed import Captured, at_most, default_policy, open_feed

CHILDS_POSE = "childs_pose__01.jsonl.gz"


def _threads(name: str) -> int:
    return sum(t.name == name and t.is_alive() for t in threading.enumerate())


@pytest.fixture
def small_video(tmp_path) -> Path:
    """60 frames at 30 fps, 64x48, each frame's index painted into its pixels."""
    path = tmp_path / "small.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (64, 48))
    try:
        for i in range(60):
            writer.write(np.full((48, 64, 3), 4 * i, np.uint8))
    finally:
        writer.release()
    return path


# --- the mailbox and its policies --------------------------------------------------------------------

@pytest.mark.parametrize("maxsize, policy, kept, dropped", [
    (1, LATEST, [9], 9),
    (3, LATEST, [7, 8, 9], 7),
], ids=["single-slot-newest", "three-newest"])
def test_latest_mailbox_keeps_the_newest_and_counts_the_dropped(maxsize, policy, kept, dropped):
    box = Mailbox(maxsize, policy)
    for i in range(10):
        assert box.put(i)
    got = [box.take_nowait() for _ in range(maxsize)]
    assert got == kept and box.dropped == dropped and box.take_nowait() is None


def test_a_lossless_put_returns_false_once_stopped_instead_of_dropping():
    box, stop = Mailbox(1, LOSSLESS), threading.Event()
    assert box.put("a", stop)
    threading.Timer(0.1, stop.set).start()
    assert box.put("b", stop) is False
    assert box.take_nowait() == "a" and box.dropped == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"policy": "newest"}, "policy"),
    ({"maxsize": 0}, "maxsize"),
], ids=["unknown-policy", "no-room"])
def test_a_bad_mailbox_fails_on_creation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Mailbox(**kwargs)


# --- the thread helper --------------------------------------------------------------------------------

def test_background_hands_every_item_over_in_order_and_joins_its_thread():
    def produce(put, stop):
        for i in range(50):
            if not put(i):
                return

    items = list(Background(produce, maxsize=2, policy=LOSSLESS, name="coach-test"))
    assert items == list(range(50)) and _threads("coach-test") == 0


def test_a_producer_exception_is_raised_in_the_consumer_after_its_items():
    def produce(put, stop):
        put(1)
        raise InputError("camera 7: stopped sending frames")

    got = []
    with pytest.raises(InputError, match="stopped sending"):
        for item in Background(produce, maxsize=4, policy=LOSSLESS, name="coach-test"):
            got.append(item)
    assert got == [1] and _threads("coach-test") == 0


def test_closing_the_consumer_stops_a_producer_that_never_ends():
    def produce(put, stop):
        i = 0
        while put(i):
            i += 1

    items = iter(Background(produce, maxsize=2, policy=LOSSLESS, name="coach-test"))
    assert [next(items) for _ in range(5)] == [0, 1, 2, 3, 4]
    items.close()
    assert _threads("coach-test") == 0


def test_a_producer_silent_past_the_first_timeout_is_an_input_error():
    def produce(put, stop):
        stop.wait(5.0)

    start = time.monotonic()
    with pytest.raises(InputError, match=r"camera 3: opened but sent no frame within 0.2 s"):
        list(Background(produce, maxsize=1, policy=LATEST, name="coach-test", label="camera 3",
                        first_timeout_s=0.2))
    assert time.monotonic() - start < 2.0 and _threads("coach-test") == 0


def test_under_latest_the_end_still_arrives_when_the_consumer_is_slow():
    box = Background(lambda put, stop: [put(i) for i in range(100)], maxsize=1, policy=LATEST,
                     name="coach-test").start()
    time.sleep(0.2)
    assert isinstance(box.box.take(threading.Event(), 1.0), End) and box.dropped == 100
    box.close()


def test_prefetch_runs_ahead_keeps_order_and_closes_the_source_in_the_consumer():
    closed_in = []

    def source():
        try:
            yield from range(20)
        finally:
            closed_in.append(threading.current_thread().name)

    items = prefetch(source(), maxsize=3)
    assert [next(items) for _ in range(4)] == [0, 1, 2, 3]
    items.close()
    assert closed_in == [threading.main_thread().name] and _threads("coach-prefetch") == 0


# --- the one input record -----------------------------------------------------------------------------

@pytest.mark.parametrize("fields, message", [
    (("a.mp4", "a.mp4", "webcam", 30.0, (64, 48)), "kind"),
    (("a.mp4", "a.mp4", "video", 0.0, (64, 48)), "fps"),
    (("a.mp4", "a.mp4", "video", math.nan, (64, 48)), "fps"),
    (("a.mp4", "a.mp4", "video", 30.0, (64,)), "size_px"),
    (("a.mp4", "a.mp4", "video", 30.0, (-1, 48)), "size_px"),
    (("a.mp4", "a.mp4", "video", 30.0, (64.5, 48)), "size_px"),
], ids=["unknown-kind", "zero-fps", "nan-fps", "one-number-size", "negative-size", "fractional-size"])
def test_a_bad_input_description_fails_on_creation(fields, message):
    with pytest.raises(ValueError, match=message):
        InputInfo(*fields)


def test_the_report_sees_the_same_six_fields_in_the_same_order():
    info = InputInfo("a.mp4", "clips/a.mp4", "video", 25, (64, 48), "lite.task", frame_count=12, label="x")
    assert isinstance(info.fps, float) and info.size_px == (64, 48)
    assert info.as_report() == {"name": "a.mp4", "path": "clips/a.mp4", "kind": "video", "fps": 25.0,
                                "size_px": [64, 48], "model": "lite.task"}
    assert list(info.as_report()) == ["name", "path", "kind", "fps", "size_px", "model"]


def test_a_video_recording_and_source_describe_themselves_with_the_one_record(small_video, landmarks_dir):
    with open_feed(small_video, detect=False) as video, open_feed(landmarks_dir / CHILDS_POSE) as recording:
        assert isinstance(video.info, InputInfo) and isinstance(recording.info, InputInfo)
        assert (video.info.name, video.info.path, video.info.kind) == ("small.mp4", str(small_video), "video")
        assert video.info.size_px == (64, 48) and video.info.frame_count == 60
        assert recording.info.kind == "recording" and recording.info.name == CHILDS_POSE


# --- the feed's policy and frames chosen by timestamp ----------------------------------------------------

@pytest.mark.parametrize("kind, policy", [
    ("camera", LATEST), ("stream", LATEST), ("video", LOSSLESS), ("image", LOSSLESS), ("folder", LOSSLESS),
    ("recording", LOSSLESS),
], ids=lambda v: str(v))
def test_the_default_policy_follows_the_kind_of_input(kind, policy):
    assert default_policy(kind) == policy


def test_a_lossless_file_feed_gives_every_frame_in_order(small_video):
    with open_feed(small_video, detect=False) as feed:
        items = list(feed.items())
    assert feed.policy == LOSSLESS and feed.dropped == 0
    assert [c.index for c in items] == list(range(60)) and np.all(np.diff([c.t_s for c in items]) > 0)


def test_a_file_played_as_latest_drops_stale_frames_keeping_true_timestamps(small_video):
    with open_feed(small_video, detect=False) as every:
        truth = {c.index: c.t_s for c in every.items()}
    with open_feed(small_video, detect=False, policy=LATEST) as feed:
        got = []
        for item in feed.items():
            got.append(item)
            time.sleep(0.02)   # a detector slower than the decoder
        dropped = feed.dropped
    assert 0 < len(got) < 60 and dropped == 60 - len(got)
    assert all(truth[c.index] == c.t_s for c in got) and got == sorted(got, key=lambda c: c.index)


@pytest.mark.parametrize("t_s, rate_hz, kept", [
    ([i / 30 for i in range(30)], None, list(range(30))),
    ([i / 30 for i in range(30)], 10.0, list(range(0, 30, 3))),
    ([i / 30 for i in range(30)], 60.0, list(range(30))),
    ([0.0, 0.05, 0.55, 0.6, 1.49, 1.5], 2.0, [0, 2, 4]),         # 1.5 is 10 ms after 1.49: too soon
    ([10.0, 10.4, 10.6, 11.0], 1.0, [0, 3]),
    ([0.0, 0.0355, 0.0645, 0.1025, 0.1315, 0.1685], 30.0, [0, 1, 2, 3, 4, 5]),   # 30 fps, +-4 ms jitter
    ([i / 60 + (0.004 if i % 3 else -0.004) for i in range(12)], 30.0, list(range(0, 12, 2))),  # 60 fps jittered
], ids=["off", "30fps-at-10hz", "rate-above-fps", "variable-rate", "late-start", "30fps-jitter-kept-whole",
        "60fps-jitter-every-other"])
def test_at_most_keeps_frames_a_period_apart_with_their_own_time(t_s, rate_hz, kept):
    items = [Captured(t, i) for i, t in enumerate(t_s)]
    got = list(at_most(items, rate_hz))
    assert [c.index for c in got] == kept and all(c.t_s == t_s[c.index] for c in got)


def test_a_feed_thins_a_recording_by_timestamp(landmarks_dir):
    with open_feed(landmarks_dir / CHILDS_POSE) as every:
        all_t = [pf.t_s for pf in every]
    with open_feed(landmarks_dir / CHILDS_POSE, max_rate_hz=5.0) as feed:
        kept = [pf.t_s for pf in feed]
    assert set(kept) <= set(all_t) and len(kept) == pytest.approx((all_t[-1] - all_t[0]) * 5.0, abs=2)


@pytest.mark.parametrize("rate", [0.0, -1.0, math.inf], ids=["zero", "negative", "infinite"])
def test_a_bad_rate_fails_when_the_feed_is_opened(landmarks_dir, rate):
    with pytest.raises(ValueError, match="max_rate_hz"):
        open_feed(landmarks_dir / CHILDS_POSE, max_rate_hz=rate)


# --- the detector's running mode per kind of input ------------------------------------------------------

@pytest.mark.parametrize("kind, mode", [
    ("camera", "video"), ("stream", "video"), ("video", "video"), ("image", "image"), ("folder", "image"),
], ids=lambda v: str(v))
def test_each_kind_of_input_gets_its_running_mode(kind, mode):
    from coach.pose.detector import mode_for

    assert mode_for(kind) == mode


@pytest.mark.model
def test_a_file_fed_like_a_camera_is_detected_in_video_mode_with_true_timestamps(tmp_path, photos_dir,
                                                                                  lite_model_path):
    """What `coach record 0` does, on a video: the camera's mode and policy, poses for the frames kept."""
    from coach.io.sources import read_image
    from coach.pose.detector import mode_for

    still = cv2.cvtColor(cv2.resize(read_image(sorted(photos_dir.glob("*.jpg"))[0]), (320, 240)), cv2.COLOR_RGB2BGR)
    path = tmp_path / "person.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (320, 240))
    try:
        for _ in range(50):
            writer.write(still)
    finally:
        writer.release()
    with open_feed(path, model=lite_model_path, mode=mode_for("camera"), policy=LATEST) as feed:
        pairs = list(feed.frames_and_poses())
        dropped = feed.dropped
    assert feed.mode == "video" and feed.policy == LATEST
    assert 0 < len(pairs) and len(pairs) + dropped == 50
    assert all(frame.t_s == pose_frame.t_s for frame, pose_frame in pairs)
    assert np.all(np.diff([pf.t_s for _, pf in pairs]) > 0) and any(not pf.pose.is_empty for _, pf in pairs)


@pytest.mark.model
def test_decoding_starts_before_the_models_load_and_every_frame_is_detected(small_video, lite_model_path):
    """The first frame is asked for before the detector is made (decoding overlaps MediaPipe's import
    and model loads), and that frame is still detected first, the others after it in order."""
    from coach.io.sources import open_source
    from coach.pose.detector import PoseDetector
    from coach.session.feed import Feed

    order: list[str] = []
    source = open_source(small_video)

    def items():
        for frame in source.frames():
            order.append("decoded")
            yield Captured(frame.t_s, frame.index, frame.rgb)

    def detector() -> PoseDetector:
        order.append("detector")
        return PoseDetector(lite_model_path, "video", num_poses=1)

    with Feed(source.info, items, source.close, detector=detector) as feed:
        pairs = list(feed.frames_and_poses())
    assert order[:2] == ["decoded", "detector"] and order.count("detector") == 1
    assert [frame.index for frame, _ in pairs] == list(range(60))
    assert all(frame.t_s == pose_frame.t_s for frame, pose_frame in pairs)


@pytest.mark.parametrize("fps", [24.0, 30.0, 35.0, 50.0, 59.94, 60.0, 120.0])
def test_the_analysed_frames_written_at_analysed_fps_last_as_long_as_the_input(tmp_path, fps):
    """An annotated copy of the frames the cap keeps, written at `analysed_fps`, plays at the input's speed."""
    from coach.session.feed import ANALYSIS, analysed_fps

    path, seconds = tmp_path / "clip.mp4", 4.0
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (64, 48))
    try:
        for _ in range(int(round(fps * seconds))):
            writer.write(np.zeros((48, 64, 3), np.uint8))
    finally:
        writer.release()
    with open_feed(path, detect=False, max_rate_hz=ANALYSIS) as feed:
        kept = list(feed.items())
        rate = analysed_fps(feed.info.fps, feed.max_rate_hz)
    assert feed.max_rate_hz == 30.0 and rate <= 30.0 + 0.05
    assert len(kept) / rate == pytest.approx(seconds, abs=1.5 / rate)   # within a frame and a half
    assert [c.index for c in kept] == sorted({c.index for c in kept})    # the input's own frame numbers
