"""Google's Gmail API, as Tern speaks it: the one client builder (`client`) and what
each error means (`errors`). This package imports none of Tern's apps, so every app may
use it; it must never be named `google` (that would shadow google-auth's namespace)."""
