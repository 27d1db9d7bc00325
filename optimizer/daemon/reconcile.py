"""Merge the charger's own session statistics into the recorded sessions.

The controller records sessions from its reads; a car that came and went
between two reads (a night with one read an hour) leaves no trace there. The
cloud's `stadistic/device` lists the sessions the charger itself saw. Once a
day the daemon fetches them and adds every finished one that overlaps no
recorded session of that device. Recorded sessions are never overwritten:
they carry the solar split the charger's statistics do not always have.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from optimizer.interfaces import SessionRecord

MATCH_SLACK = timedelta(minutes=10)
"""Two sessions within this of overlapping are the same session (reads are sparse)."""


def missing_sessions(
    reported: Iterable[SessionRecord], recorded: Iterable[SessionRecord]
) -> list[SessionRecord]:
    """The finished `reported` sessions that overlap no `recorded` session of their device.

    Open sessions (`end` None) are skipped: the controller follows those itself.
    """
    known = list(recorded)
    out: list[SessionRecord] = []
    for session in reported:
        if session.end is None:
            continue
        if not any(_same(session, other) for other in known):
            out.append(session)
            known.append(session)
    return out


def _same(a: SessionRecord, b: SessionRecord) -> bool:
    if a.device_id != b.device_id:
        return False
    a_end = a.end if a.end is not None else a.start
    b_end = b.end if b.end is not None else b.start + timedelta(days=7)
    return a.start <= b_end + MATCH_SLACK and b.start <= a_end + MATCH_SLACK
