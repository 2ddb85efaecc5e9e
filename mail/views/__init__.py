"""Mail pages, one module per concern: `lists` (thread lists), `thread` (a thread and its
messages), `images` (the remote-image proxy)."""
