"""Demonstrations: teach an exercise from a demonstration, compare a patient with it, follow along."""

from coach import lazy_exports

# The public names, each imported from its module on first use (importing the package stays cheap).
__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "teach": "teach",
    "Taught": "teach",
    "compare_series": "compare",
    "Comparison": "compare",
    "compare": "compare_session",
    "read_measures": "demonstration",
    "load_poses": "demonstration",
    "MeasureCollector": "demonstration",
    "Demonstration": "demonstration",
    "FollowAlong": "live_follow",
    "Reference": "live_follow",
})
