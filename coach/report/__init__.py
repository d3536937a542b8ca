"""What is kept and read later: the session summary, stats, plots, key frames, timeline, HTML report."""

from coach import lazy_exports

# The public names, each imported from its module on first use (importing the package stays cheap).
__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "Report": "core",
    "Summariser": "core",
    "Hold": "stats",
    "AlertSpan": "stats",
    "MeasureStats": "stats",
    "Note": "stats",
    "SegmentSummary": "stats",
    "render_report": "html",
})
