"""What would reach Sentry: the event as sentry-sdk builds it, after our before_send.

Sentry itself cannot run here; the SDK is real and its transport is replaced by a list
(the one stand-in, for the network hop to sentry.io).
"""

import sentry_sdk
from sentry_sdk.transport import Transport

from monitoring import sentry


class Recorder(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)


def test_an_error_report_carries_no_token_address_or_local_variable(monkeypatch):
    recorder = Recorder()
    real_init = sentry_sdk.init
    monkeypatch.setattr(
        sentry_sdk, "init", lambda **kwargs: real_init(transport=recorder, **kwargs)
    )
    sentry.init(dsn="https://key@sentry.invalid/1", environment="test", traces_sample_rate=0)

    def refresh(refresh_token):
        access_token = "ya29.a0-secret-access"  # noqa: F841 - a local Sentry must not see
        raise RuntimeError(f"refresh failed for alice@example.com with {refresh_token}")

    try:
        refresh("1//0secret-refresh")
    except RuntimeError as error:
        sentry_sdk.capture_exception(error)
    sentry_sdk.flush()
    sentry_sdk.init(dsn=None)

    sent = b"".join(envelope.serialize() for envelope in recorder.envelopes)
    assert b"RuntimeError" in sent and b"[message withheld]" in sent  # sent, message withheld
    assert b"ya29." not in sent and b"1//0secret" not in sent
    assert b"alice@example.com" not in sent
    assert b"[token]" in sent and b"[address]" in sent
