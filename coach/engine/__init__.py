"""Judgement, the one stateful piece (time passed in): exercise files, envelopes, holds, safety rules, alerts, verdicts, routines, red flags, auto-detection, and the Coach."""

from coach import lazy_exports

# The public names, each imported from its module on first use (importing the package stays cheap).
__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "Coach": "core",
    "EngineSettings": "core",
    "Exercise": "exercises",
    "load_library": "exercises",
    "get_exercise": "exercises",
    "load_exercise_file": "exercises",
    "FrameVerdict": "verdict",
    "Alert": "verdict",
    "Event": "verdict",
    "EventKind": "verdict",
    "HoldState": "verdict",
    "Severity": "verdict",
    "Status": "verdict",
    "HoldTracker": "holds",
    "Routine": "routine",
    "load_routine": "routine",
    "Plan": "autodetect",
    "plan": "autodetect",
    "load_red_flags": "red_flags",
})
