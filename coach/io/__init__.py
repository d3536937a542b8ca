"""Frames and files in and out: sources (camera, video, image, folder) and `InputInfo`, the one
thread helper (`background`), the MP4 sink, atomic writes, data paths."""

from coach import lazy_exports

# The public names, each imported from its module on first use (importing the package stays cheap).
__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "Frame": "sources",
    "InputInfo": "sources",
    "open_source": "sources",
    "source_kind": "sources",
    "read_image": "sources",
    "is_recording_path": "sources",
    "VideoSink": "video",
    "check_video": "video",
    "atomic_open": "atomic",
    "write_text": "atomic",
    "write_bytes": "atomic",
    "ensure_dir": "atomic",
    "Background": "background",
    "Mailbox": "background",
    "prefetch": "background",
})
