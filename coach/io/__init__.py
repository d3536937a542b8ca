"""Frames and files in and out: sources (camera, video, image, folder) and `InputInfo`, the one
thread helper (`background`), the MP4 sink, atomic writes, data paths."""
