"""A local stand-in for Google: OAuth/OIDC, the Gmail API v1, Pub/Sub push, faults, quota.

It imports nothing from the app. Start it with ``python -m emulator --port 8085``;
see docs/emulator.md.
"""
