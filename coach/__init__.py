"""coach — a pose-form coach for back stretches.

Pipeline: sources (frames) -> detector (the MediaPipe adapter) -> measures (pure angles with
reliability) -> engine (the one stateful piece: envelopes, holds, alerts) -> overlay / report.
Importing this package has no side effects and does not import mediapipe or cv2.
"""

__version__ = "0.1.0"
