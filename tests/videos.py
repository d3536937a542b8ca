"""A written video's header as the tests check it (frame rate, size, frame count), read with OpenCV.

The library itself never needs a header without the frames (`coach.io.sources` decodes them), so
this reader lives with the tests that check what `VideoSink` and the commands wrote.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import cv2


class VideoHeader(NamedTuple):
    fps: float
    size_px: tuple[int, int]
    frame_count: int | None   # None when the container does not say


def video_header(path: str | os.PathLike) -> VideoHeader:
    cap = cv2.VideoCapture(str(path))
    try:
        assert cap.isOpened(), f"{path}: cannot be opened as a video"
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        return VideoHeader(float(cap.get(cv2.CAP_PROP_FPS)),
                           (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))),
                           count if count > 0 else None)
    finally:
        cap.release()
