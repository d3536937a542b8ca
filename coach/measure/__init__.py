"""Pure angles: the conventions table, geometry, measures with reliability, posture and view, smoothing, motion."""
