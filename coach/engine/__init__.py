"""Judgement, the one stateful piece (time passed in): exercise files, envelopes, holds, safety rules, alerts, verdicts, routines, red flags, auto-detection, and the Coach."""
