"""Redaction for every log record: no token, secret or address reaches the logs.

Django's request loggers attach the request itself, whose repr carries the query string
(the webhook's `?token=`, the OAuth callback's `?code=`): it is replaced by the path.
Messages and their arguments are scrubbed of token- and address-shaped strings.
"""

import logging

from monitoring.sentry import scrub


class RedactingFilter(logging.Filter):
    def filter(self, record):
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "path"):
            record.request = f"{request.method} {request.path}"
        record.msg = scrub(str(record.msg)) if isinstance(record.msg, str) else record.msg
        if record.args:
            if isinstance(record.args, dict):
                record.args = {key: scrub(value) for key, value in record.args.items()}
            else:
                record.args = tuple(scrub(arg) for arg in record.args)
        return True
