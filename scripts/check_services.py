"""Says in one line which service `make test` cannot reach, and which variable to set."""

import os
import socket
import sys
from urllib.parse import urlsplit

SERVICES = [
    ("PostgreSQL", "DATABASE_URL", 5432),
    ("Redis", "REDIS_URL", 6379),
]


def reachable(url, default_port):
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or default_port), timeout=3):
            return True
    except OSError:
        return False


def main():
    for name, variable, port in SERVICES:
        url = os.environ.get(variable, "")
        if not url or not reachable(url, port):
            # Host and port only: the URL may carry a password.
            parts = urlsplit(url)
            where = f"{parts.hostname}:{parts.port or port}" if url else "(unset)"
            print(f"{name} is not reachable at {where}: start it or set {variable}.")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
