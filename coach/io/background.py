"""The one thread helper: a producer in a background thread, handing items over a bounded `Mailbox`.

    with contextlib.closing(iter(Background(produce, maxsize=8, policy=LOSSLESS, name="coach-read"))) as items:
        for item in items:                     # produce(put, stop) runs in the thread
            ...

Why a thread at all: decoding (OpenCV) and inference (MediaPipe) release the GIL, so a producer a few
items ahead of its consumer overlaps the two. The policy says what happens when the consumer is slower:
- `lossless`: `put` waits for room - every item arrives, in order (files, recordings, results);
- `latest`: `put` drops the oldest waiting item (counted in `dropped`) - a camera's stale frames are
  never queued, so the consumer always gets the newest one.
An exception in the producer is re-raised by the consumer; the end is an `End` item, the last one.
Closing the consumer's iteration (the loop ends, an error, Ctrl-C) sets `stop`, so a waiting
`put` returns False and the producer returns; the thread is joined in `finally`. Several mailboxes may
share one condition, so a consumer can wait on any of them (`coach live` waits on results and frames).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from coach.errors import InputError

LOSSLESS, LATEST = "lossless", "latest"
POLICIES = (LOSSLESS, LATEST)
POLL_S = 0.05          # how often a waiting put / take looks at `stop`: short enough to feel instant
JOIN_TIMEOUT_S = 5.0   # a producer stuck in a driver call is abandoned (daemon) rather than hanging the exit


@dataclass(frozen=True)
class End:
    """The producer finished: normally (`error` None) or with the exception it raised."""

    error: BaseException | None = None


class Mailbox:
    """A bounded hand-over between threads with a policy (see the module doc); `take_nowait` returns
    None when empty. `maxsize` 1 with `latest` is a single-slot mailbox: only the newest item waits."""

    def __init__(self, maxsize: int = 1, policy: str = LOSSLESS, cond: threading.Condition | None = None):
        if policy not in POLICIES:
            raise ValueError(f"policy: expected one of {', '.join(POLICIES)}, got {policy!r}")
        if maxsize < 1:
            raise ValueError(f"maxsize: expected 1 or more, got {maxsize}")
        self.maxsize, self.policy = maxsize, policy
        self.cond = cond or threading.Condition()
        self.dropped = 0
        self._items: deque = deque()

    @property
    def full(self) -> bool:
        """Something is waiting to be taken (the name says why a consumer wakes)."""
        return bool(self._items)

    def put(self, item, stop: threading.Event | None = None) -> bool:
        """Hand `item` over; False (nothing put) once `stop` is set (the consumer has gone).
        Under `latest` the item always goes in (an `End` too), replacing the oldest when full."""
        with self.cond:
            if stop is not None and stop.is_set():
                return False
            while len(self._items) >= self.maxsize:
                if self.policy == LATEST:
                    self._items.popleft()
                    self.dropped += 1
                    continue
                if stop is not None and stop.is_set():
                    return False
                self.cond.wait(POLL_S)
            self._items.append(item)
            self.cond.notify_all()
        return True

    def take_nowait(self):
        with self.cond:
            if not self._items:
                return None
            item = self._items.popleft()
            self.cond.notify_all()
            return item

    def take(self, stop: threading.Event, timeout_s: float | None = None):
        """Wait for an item (None when `stop` is set or `timeout_s` passes first)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self.cond:
            while not self._items and not stop.is_set():
                left = POLL_S if deadline is None else min(POLL_S, deadline - time.monotonic())
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.take_nowait()


Produce = Callable[[Callable[[object], bool], threading.Event], None]


class Background:
    """`produce(put, stop)` in a daemon thread, its items in `box`. Iterate it (once) to consume them,
    or `start()` it and poll `box` (an `End` comes last). `first_timeout_s`: a producer that sends
    nothing that soon is an `InputError` naming `name` (a camera that opens but never sends)."""

    def __init__(self, produce: Produce, *, maxsize: int, policy: str, name: str, label: str = "",
                 first_timeout_s: float | None = None, cond: threading.Condition | None = None):
        self.box = Mailbox(maxsize, policy, cond)
        self.stop = threading.Event()
        self.label, self.first_timeout_s = label or name, first_timeout_s
        self._produce = produce
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)

    @property
    def dropped(self) -> int:
        return self.box.dropped

    def put(self, item) -> bool:
        return self.box.put(item, self.stop)

    def _work(self) -> None:
        error = None
        try:
            self._produce(self.put, self.stop)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            error = exc
        self.box.put(End(error), self.stop)

    def start(self) -> Background:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the producer and wait for it (bounded: see JOIN_TIMEOUT_S)."""
        self.stop.set()
        with self.box.cond:
            self.box.cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=JOIN_TIMEOUT_S)

    def __iter__(self) -> Iterator:
        self.start()
        try:
            timeout_s = self.first_timeout_s
            while not isinstance(item := self._next(timeout_s), End):
                timeout_s = None
                yield item
            if item.error is not None:
                raise item.error
        finally:
            self.close()

    def _next(self, timeout_s: float | None):
        item = self.box.take(self.stop, timeout_s)
        if item is None and timeout_s is None:
            return End()   # stopped from outside while waiting
        if item is None:
            raise InputError(f"{self.label}: opened but sent no frame within {timeout_s:g} s")
        return item


def prefetch(items: Iterator, maxsize: int = 4, name: str = "coach-prefetch") -> Iterator:
    """Run the iterator `items` (decoding, detection) in a thread, up to `maxsize` ahead of the consumer;
    closing the result stops it, and `items` is closed in the consumer's thread once the thread is gone."""

    def produce(put, stop) -> None:
        for item in items:
            if not put(item):
                return

    try:
        yield from Background(produce, maxsize=maxsize, policy=LOSSLESS, name=name)
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()
