"""The session: feeds (pixels or recordings through the detector), the analyze and live loops and their output files."""

from coach import lazy_exports

# The public names, each imported from its module on first use (importing the package stays cheap).
__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "run_session": "loop",
    "Sink": "loop",
    "ListSink": "loop",
    "open_feed": "feed",
    "Feed": "feed",
    "FramePipeline": "feed",
    "analyze": "analyze",
    "analyze_batch": "analyze",
    "AnalyzeOptions": "analyze",
    "run_live": "live",
    "LiveOptions": "live_session",
    "LiveSession": "live_session",
    "OutputFolder": "session_files",
    "SessionFiles": "session_files",
    "ResultFiles": "session_files",
})
