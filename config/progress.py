"""Progress of a long command: a tqdm bar (counts, rate, time left) on a terminal, and a plain
line every few seconds when the output is a log or CI, so neither fills up with redraws.

    with progress(total=len(items), desc="readings", unit="rows", stream=self.stdout) as bar:
        for chunk in chunks:
            ...
            bar.update(len(chunk))

A service that reports ``(done, total)`` as it goes is followed with ``bar.advance_to``.
"""

import sys
import time
from contextlib import contextmanager

from tqdm import tqdm

PLAIN_EVERY_SECONDS = 5.0


class _Plain:
    """What a log shows: ``desc: done/total unit (pct), rate/s`` now and then, and at the end."""

    def __init__(self, *, total: int | None, desc: str, unit: str, stream, every: float):
        self.total, self.desc, self.unit, self.stream, self.every = total, desc, unit, stream, every
        self.n = 0
        self.started = self.last = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self._line(now)

    def _line(self, now: float) -> None:
        rate = self.n / max(now - self.started, 1e-9)
        of = f"/{self.total:,}" if self.total else ""
        pct = f" ({100 * self.n / self.total:.0f} %)" if self.total else ""
        self.stream.write(
            f"{self.desc}: {self.n:,}{of} {self.unit}{pct}, {rate:,.0f} {self.unit}/s\n"
        )
        self.stream.flush()

    def close(self) -> None:
        self._line(time.monotonic())


def advance_to(bar, done: int, total: int | None) -> None:
    """Move ``bar`` (either kind) to ``done`` of ``total``: for a service's ``(done, total)``
    callback, whose total is known only once it has started."""
    bar.total = total
    bar.update(done - bar.n)


def _is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@contextmanager
def progress(
    *, total: int | None, desc: str, unit: str = "items", stream=None, every=PLAIN_EVERY_SECONDS
):
    """A progress reporter with ``update(n)``; closed (its last figures shown) on exit."""
    stream = stream if stream is not None else sys.stderr
    # Django's OutputWrapper hides the file's isatty behind ``_out``.
    raw = getattr(stream, "_out", stream)
    if _is_terminal(raw):
        bar = tqdm(total=total, desc=desc, unit=unit, file=raw, dynamic_ncols=True)
    else:
        bar = _Plain(total=total, desc=desc, unit=unit, stream=raw, every=every)
    try:
        yield bar
    finally:
        bar.close()
