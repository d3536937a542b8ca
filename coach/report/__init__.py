"""What is kept and read later: the session summary, stats, plots, key frames, timeline, HTML report."""
