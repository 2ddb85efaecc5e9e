"""What mail tells the layers above it (sync's receivers act on them)."""

from django.dispatch import Signal

# A user action was saved in the outbox (sent inside its transaction; a receiver that
# queues work does it after commit). Arguments: account_id, and `due`: when the action
# may go (a send waiting out its undo window or its scheduled time), None for at once.
outbox_action_queued = Signal()
