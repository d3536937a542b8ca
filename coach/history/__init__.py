"""The session store (SQLite), its plot, and the session loop's sink that stores a published session."""

from coach import lazy_exports

# The public names, each imported from its module on first use (importing the package stays cheap).
__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "History": "store",
    "record_session": "store",
    "overuse_warnings": "store",
    "plot_png": "store",
    "HistorySink": "sink",
    "store_session": "sink",
})
