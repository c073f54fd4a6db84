"""The failed-login limiter on its own: what it counts and what it keeps."""

from __future__ import annotations

from allyshare.taxii.auth import LoginLimiter


def test_a_flood_of_made_up_names_cannot_push_an_address_out_of_the_count() -> None:
    limiter = LoginLimiter(limit=3, max_keys=10)
    for _ in range(3):
        limiter.record_failure("198.51.100.7")
    for n in range(1000):
        limiter.record_failure("198.51.100.8", f"made-up-{n}")
    assert limiter.blocked_for("198.51.100.7") > 0


def test_a_name_over_the_limit_blocks_failures_from_any_address() -> None:
    limiter = LoginLimiter(limit=3)
    for n in range(3):
        limiter.record_failure(f"198.51.100.{n}", "analyst")
    assert limiter.blocked_for("203.0.113.1", "analyst") > 0
    assert limiter.blocked_for("203.0.113.1", "other") == 0
    assert limiter.blocked_for("203.0.113.1") == 0
