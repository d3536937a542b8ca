"""Pure angles: the conventions table, geometry, measures with reliability, posture and view, smoothing, motion."""

from coach import lazy_exports

# The public names, each imported from its module on first use (importing the package stays cheap).
__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "SPEC": "conventions",
    "MEASURE_NAMES": "conventions",
    "Reliability": "conventions",
    "View": "conventions",
    "Posture": "conventions",
    "measure_label": "conventions",
    "value_range": "conventions",
    "Measures": "measures",
    "compute_measures": "measures",
    "posture_and_view": "posture",
    "OneEuroFilter": "smoothing",
    "smooth_series": "smoothing",
    "series_speed": "smoothing",
})
