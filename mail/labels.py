"""What Gmail refuses about labels, checked before asking it, so the user reads why.

Gmail answers 400 to a label name that is one of its own folders (any case: "Muted",
"drafts", "Archive", "Voicemail"…) or holds a control character, and to a label change
that adds or removes a label only Gmail sets (SENT, DRAFT, CHAT) or adds more than one
of INBOX, SPAM and TRASH. The emulator refuses the same (emulator/mailbox.py).
"""

from collections.abc import Sequence

# Labels only Gmail sets or takes away.
FIXED_LABELS = frozenset({"SENT", "DRAFT", "CHAT"})
# A message is in at most one of these places.
PLACES = ("INBOX", "SPAM", "TRASH")
# Lowercase names Gmail keeps for itself: its system labels and folder names.
RESERVED_NAMES = frozenset(
    {
        *("inbox", "spam", "trash", "unread", "starred", "important", "sent", "draft"),
        *("drafts", "chat", "chats", "migrated", "todo", "todos", "buzz", "bin"),
        *("allmail", "archive", "archived", "muted", "voicemail"),
        *("category_forums", "category_updates", "category_personal"),
        *("category_promotions", "category_social"),
    }
)


def label_name_problem(name: str) -> str | None:
    """Why Gmail would refuse `name` for a new or renamed label, or None if it would not."""
    stripped = name.strip()
    if not stripped:
        return "A label needs a name."
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "A label name cannot contain control characters such as tabs or line breaks."
    if stripped.lower() in RESERVED_NAMES:
        return f"Gmail keeps the name “{stripped}” for itself: choose another."
    return None


def label_change_problem(add: Sequence[str], remove: Sequence[str]) -> str | None:
    """Why Gmail would refuse adding `add` and removing `remove`, or None if it would not."""
    fixed = sorted(FIXED_LABELS & {*add, *remove})
    if fixed:
        return f"Only Gmail sets or removes {', '.join(fixed)}."
    if len(set(add) & set(PLACES)) > 1:
        return "A conversation can be in only one of Inbox, Spam and Trash."
    return None
