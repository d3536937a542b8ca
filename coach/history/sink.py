"""The history as a sink of the session loop: a published session is stored, its warnings kept.

    history = HistorySink(db, "analyze", mine=False)      # built by the CLI, passed in with the sinks
    run_session(pairs, plan, [results, history], flush=flush)
    history.advice, history.warnings                       # overuse; why it could not be stored

It only reads: the verdicts (did the session end with a pain stop?) and, once the results are
published (`Sink.published`), the report. The results are complete on disk by then, so a history
that cannot be written (disk full, a locked or unreadable database) is one warning, and the
command's exit code stays what it was.
"""

from __future__ import annotations

import os

from coach.engine.verdict import EventKind, FrameVerdict, Status
from coach.io.sources import Frame
from coach.measure.measures import Measures
from coach.pose.core import PoseFrame
from coach.report.core import Report
from coach.session.live_session import PAIN_RULE
from coach.session.loop import Sink


def store_session(report: Report, kind: str, db: str | os.PathLike | None, **details) -> tuple[list[str], list[str]]:
    """Store a published session in the history database: (the overuse advice it causes, the line
    saying why it was not stored - never an error: the results are kept either way)."""
    import sqlite3

    from coach.errors import CoachError
    from coach.history.store import record_session

    try:
        return record_session(report, kind, db, **details), []
    except (CoachError, sqlite3.Error, OSError) as exc:
        why = " ".join(str(exc).split()) or type(exc).__name__
        return [], [f"the session was not stored in the history database ({why}); its results are kept"]


class HistorySink(Sink):
    """Stores each session it sees once it is published (one sink may serve a batch, session by
    session); `warnings` accumulate. `mine`: as `record_session` (None: live's sessions are the
    person's own, a recording's are not). `partial_too`: store a partial session too (live keeps a
    quit or interrupted session; analyze and compare store only complete ones)."""

    def __init__(self, db: str | os.PathLike | None, kind: str, *, mine: bool | None = None,
                 partial_too: bool = False):
        self.db, self.kind, self.mine, self.partial_too = db, kind, mine, partial_too
        self.warnings: list[str] = []   # why a session could not be stored
        self.advice: list[str] = []     # the overuse advice (an exercise done more often today than advised)
        self._pain = False

    def frame(self, frame: Frame | None, pose_frame: PoseFrame, verdict: FrameVerdict | None,
              measures: Measures | None = None) -> None:
        if verdict is not None and verdict.status == Status.STOPPED and any(
                event.kind == EventKind.EXERCISE_STOPPED and PAIN_RULE in event.details.get("rules", ())
                for event in verdict.events):
            self._pain = True   # the pain key stopped it (`coach live`): the history says so

    def published(self, report: Report | None) -> None:
        pain, self._pain = self._pain, False   # the next session of a batch starts clear
        if report is None or (report.partial and not self.partial_too):
            return
        advice, problems = store_session(report, self.kind, self.db, mine=self.mine, pain_stop=pain)
        self.advice += advice
        self.warnings += problems


__all__ = ["HistorySink", "store_session"]
