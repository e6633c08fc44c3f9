"""The load gauges that make a dispatcher yield: how busy other processes keep the CPUs
(`CpuGauge`), and whether writes record events faster than some rate (`EventRate`).

Both are asked on every turn of the dispatcher's loop, so each is cheap: the gauge reads one
line of /proc/stat, the rate counts a few of the newest events at most once every RATE_WINDOW.
"""

import os
import time
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from .models import Event

# Seconds of events EventRate counts, and how often it counts them: the dispatcher looks for
# due deliveries as often (`dispatch.POLL`), so it knows of a burst by its next look.
RATE_WINDOW = 0.2

# Of the newest events, those recorded since a time (enough of them to tell a burst). SQL: the
# ORM filters no sliced query, and this runs on every look of the loop.
RECENT_EVENTS_SQL = f"""
    SELECT count(*) FROM (
        SELECT created_at FROM {Event._meta.db_table} ORDER BY id DESC LIMIT %(limit)s
    ) AS newest WHERE created_at > %(since)s
"""


class CpuGauge:
    """How busy the machine's CPUs are with work not this process's (0 to 1), averaged over about
    a second; from Linux's /proc/stat, so always 0 elsewhere."""

    def __init__(self) -> None:
        self.level: float | None = None
        self.last = self.read()

    @staticmethod
    def read() -> tuple[float, float] | None:
        """Since boot: (clock ticks of work by others, clock ticks of all CPUs)."""
        try:
            with open("/proc/stat") as stat:
                # user nice system idle iowait irq softirq
                ticks = [int(value) for value in stat.readline().split()[1:8]]
            per_second = os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError):
            return None
        own = os.times()
        busy = sum(ticks) - ticks[3] - ticks[4] - (own.user + own.system) * per_second
        return busy, sum(ticks)

    def busy(self) -> float:
        now = self.read()
        if now is None or self.last is None or now[1] - self.last[1] < 10:
            return self.level or 0.0
        sample = max(0.0, (now[0] - self.last[0]) / (now[1] - self.last[1]))
        self.last = now
        self.level = sample if self.level is None else self.level + 0.3 * (sample - self.level)
        return self.level


class EventRate:
    """Whether writes record more than some number of events a second: counts the events of the
    last RATE_WINDOW seconds by their own times, so that a dispatcher woken by a burst knows it
    within a fraction of a second (it sends meanwhile). The times are the writers' clocks: a
    dispatcher on a host whose clock runs ahead of theirs by that much sees fewer (the CPU gauge
    still counts)."""

    def __init__(self) -> None:
        self.count = 0  # events of the last RATE_WINDOW seconds when last counted (a few at most)
        self.counted_at: float | None = None

    def above(self, per_second: int) -> bool:
        limit = per_second * RATE_WINDOW
        now = time.monotonic()
        if self.counted_at is None or now - self.counted_at >= RATE_WINDOW:
            since = timezone.now() - timedelta(seconds=RATE_WINDOW)
            with connection.cursor() as cursor:
                cursor.execute(RECENT_EVENTS_SQL, {"limit": int(limit) + 1, "since": since})
                row = cursor.fetchone()
            self.count, self.counted_at = (int(row[0]) if row else 0), now
        return self.count > limit
