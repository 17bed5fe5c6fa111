"""Long commands show progress (#20): a tqdm bar with counts and rate on a terminal, plain
periodic lines in a log or CI (config.progress)."""

import fcntl
import io
import os
import select
import struct
import termios

from config.progress import advance_to, progress


def test_it_writes_plain_lines_with_counts_and_rate_when_not_on_a_terminal():
    log = io.StringIO()
    with progress(total=400, desc="demo readings", unit="readings", stream=log, every=0) as bar:
        bar.update(100)
        bar.update(300)

    lines = log.getvalue().splitlines()
    assert lines[0].startswith("demo readings: 100/400 readings (25 %), ")
    assert lines[-1].startswith("demo readings: 400/400 readings (100 %), ")
    assert all(line.endswith("readings/s") for line in lines)
    assert "\r" not in log.getvalue()


def test_it_draws_a_bar_on_a_terminal():
    reader, writer = os.openpty()
    fcntl.ioctl(writer, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    terminal = os.fdopen(writer, "w")
    try:
        with progress(total=10, desc="bills", unit="accounts", stream=terminal) as bar:
            advance_to(bar, 4, 10)
            advance_to(bar, 10, 10)
        terminal.flush()
        # A pty hands over what was written in pieces: read until nothing more arrives.
        drawn = b""
        while select.select([reader], [], [], 0.5)[0]:
            piece = os.read(reader, 10_000)
            if not piece:
                break
            drawn += piece
        drawn = drawn.decode()
    finally:
        terminal.close()
        os.close(reader)

    assert "\r" in drawn and "bills: 100%" in drawn and "10/10" in drawn


def test_a_total_learnt_late_is_shown():
    log = io.StringIO()
    with progress(total=None, desc="bills", unit="accounts", stream=log, every=3600) as bar:
        advance_to(bar, 2, 2)

    assert log.getvalue().startswith("bills: 2/2 accounts (100 %)")
