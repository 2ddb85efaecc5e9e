"""Sentry, on when SENTRY_DSN is set, and never told a token, an address or mail.

Error reports carry no user details, cookies, headers, request bodies, query strings,
database query data or local variables (a frame of the token refresh holds tokens);
what is left is scrubbed of anything shaped like a Google token or an email address.
"""

import re

import sentry_sdk

SECRETS = re.compile(
    r"(ya29\.[\w.-]+|1//[\w.-]+|eyJ[\w-]+\.[\w-]+\.[\w-]+"
    r"|(?<=[?&]token=)[^&\s'\"]+|(?<=[?&]code=)[^&\s'\"]+)"
)
ADDRESSES = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
OFF = {"mode": "off"}


def scrub(value):
    if isinstance(value, str):
        return ADDRESSES.sub("[address]", SECRETS.sub("[token]", value))
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value


def before_send(event, hint):
    return scrub(event)


def init(*, dsn, environment, traces_sample_rate):
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        traces_sample_rate=traces_sample_rate,
        data_collection={
            "user_info": False,
            "cookies": OFF,
            "http_headers": {"request": OFF},
            "http_bodies": [],
            "url_query_params": OFF,
            "database_query_data": False,
            "stack_frame_variables": False,
        },
        max_request_body_size="never",
        before_send=before_send,
        before_send_transaction=before_send,
    )
