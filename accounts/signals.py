"""What accounts tells the layers above it (sync's receivers act on them)."""

from django.dispatch import Signal

# An account was connected, or reconnected after it needed it (sent inside the
# transaction that records it; a receiver that queues work does it after commit).
# Arguments: account.
gmail_account_connected = Signal()

# An account is about to be disconnected: its tokens still work. Receivers are called
# robustly (a failure is logged, the disconnect goes on). Arguments: account.
gmail_account_disconnecting = Signal()
