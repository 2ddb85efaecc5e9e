"""Counters behind ``GET /_emulator/stats``: API calls and units, pushes, throughput."""

import time
from collections import defaultdict, deque

PUSH_COUNTERS = (
    "published",
    "delivered",
    "attempts",
    "retried",
    "dropped",
    "duplicated",
    "undeliverable",
)


class Stats:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.requests_total = 0
        # (second, count) for the last minute of HTTP requests, all endpoints.
        self._per_second: deque[list[int]] = deque(maxlen=60)
        self.reset()

    def reset(self) -> None:
        self.calls: dict[str, dict[str, dict[str, int]]] = defaultdict(
            lambda: defaultdict(lambda: {"calls": 0, "units": 0, "errors": 0})
        )
        self.push = dict.fromkeys(PUSH_COUNTERS, 0)

    def count_request(self) -> None:
        self.requests_total += 1
        second = int(time.monotonic())
        if self._per_second and self._per_second[-1][0] == second:
            self._per_second[-1][1] += 1
        else:
            self._per_second.append([second, 1])

    def count_call(self, email: str, method: str, *, units: int, failed: bool) -> None:
        entry = self.calls[email][method.removeprefix("gmail.")]
        entry["calls"] += 1
        entry["units"] += units
        entry["errors"] += int(failed)

    def snapshot(self, *, pending_pushes: int) -> dict:
        now = int(time.monotonic())
        recent = [count for second, count in self._per_second if now - second < 10]
        users = {}
        for email, methods in self.calls.items():
            users[email] = {
                "calls": sum(m["calls"] for m in methods.values()),
                "units": sum(m["units"] for m in methods.values()),
                "methods": {name: dict(m) for name, m in sorted(methods.items())},
            }
        return {
            "users": users,
            "pushes": {**self.push, "pending": pending_pushes},
            "server": {
                "uptime_s": round(time.monotonic() - self.started, 3),
                "requests_total": self.requests_total,
                "requests_per_second_10s": round(sum(recent) / 10, 1),
            },
        }
