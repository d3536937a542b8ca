"""Who is where: pose records, the landmark enum, the MediaPipe adapter (the only mediapipe import), model resolution, person tracking, pose-landmarks/1 recordings."""

from coach import lazy_exports

# The public names, each imported from its module on first use (importing the package stays cheap).
__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "Pose": "core",
    "PoseFrame": "core",
    "Other": "core",
    "Landmark": "landmarks",
    "PoseDetector": "detector",
    "PeopleDetector": "detector",
    "PartnerWatch": "detector",
    "resolve_model": "models",
    "PrimaryTracker": "tracking",
    "PeopleTracker": "tracking",
    "Recording": "recording",
    "RecordingInfo": "recording",
    "RecordingWriter": "recording",
    "read_recording": "recording",
})
