"""Named exceptions. The CLI turns each into a one-line message and exit code 2."""


class CoachError(Exception):
    """Base class: a problem the user can fix; the message is one line and names the input."""

    exit_code = 2


class InputError(CoachError):
    """A source (path, camera, video, image, folder) cannot be read."""


class ModelError(CoachError):
    """The model bundle is missing, corrupt, has the wrong hash or cannot be downloaded."""


class RecordingError(CoachError):
    """A pose-landmarks/1 recording is malformed."""


class ExerciseError(CoachError):
    """An exercise file is invalid; the message names the file and the key."""


class OutputError(CoachError):
    """An output cannot be written (unwritable folder, disk full)."""


class BadValueError(RecordingError):
    """A recording holds a number no frame can have (NaN, inf, out of range): the file was written
    wrongly, so nothing read from it is kept (see coach.recording)."""
