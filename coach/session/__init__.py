"""The session: feeds (pixels or recordings through the detector), the analyze and live loops and their output files."""
