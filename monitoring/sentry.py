"""Sentry, on when SENTRY_DSN is set, and never told a token, an address or mail.

Error reports carry no user details, cookies, headers, request bodies, query strings,
database query data or local variables (a frame of the token refresh holds tokens);
what is left is scrubbed of anything shaped like a Google token or an email address.
"""

from typing import cast

import sentry_sdk
from sentry_sdk.types import Breadcrumb, BreadcrumbHint, Event, Hint

from monitoring.redact import WITHHELD, exception_chain, exception_message, scrub


def before_send(event: Event, hint: Hint) -> Event:
    """Exception messages made safe (they may quote a subject or a display name, which
    no pattern can recognise), then everything scrubbed of secrets and addresses."""
    exc_info = (hint or {}).get("exc_info")
    safe: dict[str | None, str] = {}
    for error in exception_chain(exc_info[1]) if exc_info else []:
        safe.setdefault(type(error).__name__, exception_message(error))
    for value in event.get("exception", {}).get("values", []):
        value["value"] = safe.get(value.get("type"), WITHHELD)
    return cast("Event", scrub(event))  # the same keys, their values scrubbed


def before_breadcrumb(crumb: Breadcrumb, hint: BreadcrumbHint) -> Breadcrumb:
    return cast("Breadcrumb", scrub(crumb))


def init(*, dsn: str, environment: str, traces_sample_rate: float) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        traces_sample_rate=traces_sample_rate,
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "off"}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "database_query_data": False,
            "stack_frame_variables": False,
        },
        max_request_body_size="never",
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
        before_send_transaction=before_send,
    )
