"""A version of each account's mirror, for caches of what is made from it (the sidebar).

mail.mirror calls `mirror_changed` whenever an account's labels or threads change; the
account then has a new version (a random token in the cache), and again once that
transaction commits.
A cache key that holds the versions of what it was made from can then never be read
stale: a change makes another key, and there is nothing to invalidate. A version the
cache lost (evicted, flushed) is made anew, so nothing older can be taken for it.
"""

import uuid
from collections.abc import Iterable, Sequence

from django.core.cache import cache
from django.db import transaction


def _key(account_id: int) -> str:
    return f"mail:mirror-version:{account_id}"


def mirror_changed(*, account_ids: Iterable[int]) -> None:
    """The labels or threads of these accounts changed (or will, when the transaction
    this runs in commits)."""
    keys = [_key(pk) for pk in set(account_ids)]
    if not keys:
        return

    def new_versions() -> None:
        cache.set_many({key: uuid.uuid4().hex for key in keys}, timeout=None)

    # Now, and again once the change commits: a sidebar made between the two, from what
    # was there before the commit, is kept under a version that the second one ends.
    new_versions()
    transaction.on_commit(new_versions)


def mirror_versions(account_ids: Sequence[int]) -> list[str]:
    """The current version of each account's mirror, in order. One cache round trip
    (two when one is new)."""
    keys = [_key(pk) for pk in account_ids]
    versions = cache.get_many(keys)
    fresh = {key: uuid.uuid4().hex for key in keys if key not in versions}
    if fresh:
        cache.set_many(fresh, timeout=None)
        versions.update(fresh)
    return [versions[key] for key in keys]
