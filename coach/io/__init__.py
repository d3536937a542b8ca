"""Frames and files in and out: sources (camera, video, image, folder), the MP4 sink, atomic writes, data paths."""
