"""Standard output belongs to the command: a native library's stray prints go to stderr.

HiGHS (the least-cost planner's solver through highspy, the backtest optimum's inside
scipy) prints a debug line
(`HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();`) with C's
`printf` on some solves, whatever its output options say (reported upstream as
jump-dev/HiGHS.jl#312), and highspy its banner (`Running HiGHS ...`) when a process
makes its first `Highs`, before any option can silence it. Written to file descriptor
1, such a line lands in the middle of `backtest --json`, `plan --json` or a table that
a script reads.

At start the console script points descriptor 1 at standard error and gives Python's
`sys.stdout` a private duplicate of the original descriptor: everything the command
itself prints (JSON, tables, plans) still reaches the terminal or pipe as before, and a
native library's output joins the log lines on stderr. Done once, before any thread
starts, so no write can race the switch.
"""

from __future__ import annotations

import os
import sys


def route_native_stdout_to_stderr() -> None:
    """Keep `sys.stdout` on the original stdout; send descriptor 1 to stderr.

    Does nothing when either descriptor is not open (a service started with stdout
    or stderr closed): there is then nothing to protect or nowhere to send it.
    """
    try:
        sys.stdout.flush()
        original = os.dup(1)
        os.dup2(2, 1)
    except (OSError, ValueError, AttributeError):
        return
    sys.stdout = os.fdopen(
        original,
        "w",
        encoding=getattr(sys.stdout, "encoding", None) or "utf-8",
        errors=getattr(sys.stdout, "errors", None) or "strict",
        buffering=1 if getattr(sys.stdout, "line_buffering", False) else -1,
    )
