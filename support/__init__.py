"""What the tests and the benchmarks both stand on: the emulator with Gmail services built
by the app's client builder, connected accounts, and syncs run to the end.

The emulator's own client (``emulator/client.py``) imports nothing from the app; this
package adds what needs the app. Only tests and benchmarks import it.
"""
