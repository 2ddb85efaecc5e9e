"""The emulator's clock: wall time plus an offset that the control API can move forward.

Token expiry, quota windows, watch expirations and the internalDate of new mail all read
this clock, so a test can jump an hour ahead instead of sleeping for one.
"""

import time


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    def advance(self, seconds: float) -> None:
        self.offset += seconds
