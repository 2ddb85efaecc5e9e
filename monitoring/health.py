"""Health checks: each returns (state, detail) and is timed by `run_checks`.

States: "ok"; "warn" (worth an operator's look, not a reason to take the process out of
rotation); "fail". The database failing makes Tern "down"; Redis failing, "degraded".
"""

import datetime as dt
import time
from collections.abc import Callable, Iterable
from typing import Literal, TypedDict

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max
from django.utils import timezone

from accounts.models import GmailAccount
from gmail.errors import LOCKOUT_MESSAGE
from mail.models import SkippedMessage
from sync.coordination import redis_client
from sync.models import GmailWatch, SyncStatus

type State = Literal["ok", "warn", "fail"]
type Status = Literal["ok", "degraded", "down"]
type CheckResult = tuple[State, str]


class CheckReport(TypedDict):
    state: State
    detail: str
    ms: float


class HealthReport(TypedDict):
    status: Status
    checks: dict[str, CheckReport]


def check_database() -> CheckResult:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok", ""


def check_redis() -> CheckResult:
    if not settings.REDIS_URL:
        return "ok", "not configured (embedded defaults)"
    redis_client().ping()
    return "ok", ""


def check_watches() -> CheckResult:
    """Active mailboxes whose Gmail watch is missing, expired or failing to renew."""
    active = GmailAccount.objects.filter(status=GmailAccount.Status.ACTIVE)
    unwatched = active.exclude(watch__expiration__gt=timezone.now()).count()
    failing = GmailWatch.objects.filter(account__in=active).exclude(last_error="").count()
    if unwatched or failing:
        return "warn", f"{unwatched} mailbox(es) without a live watch, {failing} failing to renew"
    return "ok", f"{active.count()} mailbox(es) watched"


def check_sync() -> CheckResult:
    """Mailboxes whose sync is paused by Gmail errors or stopped on a permanent error;
    those Gmail locked out, and until when the last of those lockouts lasts."""
    statuses = SyncStatus.objects.filter(account__status=GmailAccount.Status.ACTIVE)
    paused = statuses.filter(paused_until__gt=timezone.now())
    locked = paused.filter(last_error__startswith=LOCKOUT_MESSAGE).aggregate(
        count=Count("id"), until=Max("paused_until")
    )
    failing = statuses.exclude(last_error="").count()
    if not (paused.exists() or failing):
        return "ok", ""
    detail = f"{paused.count()} paused, {failing} with a last error"
    if locked["count"]:
        until = locked["until"].astimezone(dt.UTC).isoformat(timespec="seconds")
        detail += f", {locked['count']} locked out by Gmail (until {until.replace('+00:00', 'Z')})"
    return "warn", detail


def check_skipped_messages() -> CheckResult:
    """Messages a sync could not store and skipped (admin lists them, with the reason)."""
    skipped = SkippedMessage.objects.filter(account__status=GmailAccount.Status.ACTIVE).aggregate(
        messages=Count("id"), mailboxes=Count("account", distinct=True)
    )
    if skipped["messages"]:
        return "warn", (
            f"{skipped['messages']} message(s) in {skipped['mailboxes']} mailbox(es)"
            " could not be stored"
        )
    return "ok", ""


# name -> (check, the status its failure gives Tern; None: it does not change it)
CHECKS: dict[str, tuple[Callable[[], CheckResult], Status | None]] = {
    "database": (check_database, "down"),
    "redis": (check_redis, "degraded"),
    "watches": (check_watches, None),
    "sync": (check_sync, None),
    "skipped_messages": (check_skipped_messages, None),
}


def run_checks(names: Iterable[str] | None = None) -> HealthReport:
    """{"status", "checks": {name: {"state", "detail", "ms"}}} for the named checks."""
    results: dict[str, CheckReport] = {}
    status: Status = "ok"
    for name in names or CHECKS:
        check, severity = CHECKS[name]
        started = time.perf_counter()
        try:
            state, detail = check()
        except Exception as error:  # a check that cannot run has failed; say which kind
            state, detail = "fail", type(error).__name__
        elapsed = round((time.perf_counter() - started) * 1000, 2)
        results[name] = {"state": state, "detail": detail, "ms": elapsed}
        if state == "fail" and severity and status != "down":
            status = severity
    return {"status": status, "checks": results}
