"""How much an organization may match against one collection: so many values a day (UTC), and
no request sooner than an interval after its last, because a small value space (the IPv4
addresses of a network) could otherwise be enumerated against match-only data."""

from __future__ import annotations

from dataclasses import dataclass

DAY_US = 86_400_000_000


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused, and when it may be made (microseconds since the epoch)."""

    reason: str
    retry_at: int


@dataclass(frozen=True)
class Budget:
    values_per_day: int
    min_interval_us: int

    def refusal(self, asked: int, used: int, last_at: int | None, now: int) -> Refusal | None:
        """None if ``asked`` more values may be matched now, having ``used`` today and last
        asked at ``last_at``; else why not, and when."""
        if last_at is not None and now - last_at < self.min_interval_us:
            wait = last_at + self.min_interval_us
            return Refusal(
                f"one request per {self.min_interval_us // 1_000_000} s: the last was "
                f"{(now - last_at) / 1_000_000:.1f} s ago",
                wait,
            )
        if used + asked > self.values_per_day:
            reset = (now // DAY_US + 1) * DAY_US
            return Refusal(
                f"the budget is {self.values_per_day:,} values a day; {used:,} used today, "
                f"{asked:,} asked",
                reset,
            )
        return None

    @staticmethod
    def day_of(now: int) -> int:
        return now // DAY_US
