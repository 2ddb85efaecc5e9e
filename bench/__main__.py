"""`python -m bench [NAME ...]`: run the benchmarks, print the table, write the JSON.

Every benchmark reports its figures beside a floor measured in the same run, and says
ok or MISSED against its bar (docs/benchmarks.md lists them). The exit status is 0
whatever the figures: benchmarks report, tests judge. It is 1 only when a benchmark
could not run.
"""

import argparse
import datetime as dt
import gc
import importlib
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

BENCHMARKS = {
    "inbox": "bench.inbox",
    "webhook": "bench.webhook",
    "push": "bench.push",
    "fullsync": "bench.fullsync",
    "emulator": "bench.throughput",
    "search": "bench.search",
}


class Context:
    """What benchmarks share in one run: the log folder and the emulator of the settings."""

    def __init__(self, *, log_dir, args):
        self.log_dir = log_dir
        self.inbox_sizes = [int(size) for size in args.inbox_sizes.split(",")]
        self.push_count = args.push_count
        self.fullsync_messages = args.fullsync_messages
        self.fullsync_quota = args.fullsync_quota
        self.started = time.monotonic()
        self._emulator = None

    def say(self, text):
        print(f"[{time.monotonic() - self.started:6.1f}s] {text}", flush=True)

    def emulator(self):
        """The emulator at BENCH_EMULATOR_URL (the port the settings chose), reset."""
        from django.conf import settings

        from bench.harness import emulator_start

        if self._emulator is None or not self._emulator.process.alive():
            port = int(settings.GOOGLE_EMULATOR_URL.rsplit(":", 1)[1])
            self._emulator = emulator_start(self.log_dir, port=port)
        self._emulator.reset()
        return self._emulator

    def close(self):
        if self._emulator is not None:
            self._emulator.close()
            self._emulator = None


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument(
        "--inbox-sizes",
        default="1000,100000",
        help="mailbox sizes of the inbox benchmark, comma-separated (default: 1000,100000)",
    )
    parser.add_argument(
        "--push-count", type=int, default=20, help="messages timed by the push benchmark"
    )
    parser.add_argument(
        "--fullsync-messages",
        type=int,
        default=4000,
        help="messages in the mailbox of the full-sync benchmark",
    )
    parser.add_argument(
        "--fullsync-quota",
        type=int,
        default=15000,
        help="Gmail quota units per user per minute, on both sides, for the full sync",
    )
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the tern_bench database afterwards"
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    args.names = args.names or list(BENCHMARKS)
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from bench import harness, output

    log_dir = Path(tempfile.mkdtemp(prefix="tern-bench-logs-"))
    ctx = Context(log_dir=log_dir, args=args)
    started_at = dt.datetime.now(dt.UTC)
    load_before = round(os.getloadavg()[0], 2)
    ctx.say(f"benchmarks: {', '.join(args.names)}; logs in {log_dir}")
    try:
        harness.database_reset()
        harness.redis_clean()
    except Exception as error:  # a service is down: say which, in one line
        print(f"cannot prepare PostgreSQL database tern_bench and Redis: {error}")
        return 1
    ctx.say("database tern_bench created and migrated")
    reports, failed = [], []
    try:
        for name in args.names:
            ctx.say(f"== {name}")
            gc.collect()  # what one benchmark left behind is not collected in the next
            began = time.monotonic()
            try:
                report = importlib.import_module(BENCHMARKS[name]).run(ctx).as_dict()
            except Exception as error:  # report it, run the others
                traceback.print_exc()
                failed.append(name)
                report = {
                    "name": name,
                    "rows": [
                        {
                            "metric": "could not run",
                            "value": type(error).__name__,
                            "unit": "",
                            "floor": None,
                            "ratio": None,
                            "bar": "",
                            "pass": False,
                        }
                    ],
                    "details": {"error": repr(error)},
                }
            report["duration_s"] = round(time.monotonic() - began, 1)
            ctx.say(f"{name} done in {report['duration_s']} s")
            reports.append(report)
        machine = output.machine()
    finally:
        ctx.close()
        harness.redis_clean()
        if not args.keep_db:
            harness.database_drop()
    document = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - ctx.started, 1),
        "machine": {**machine, "load_average_1m_at_start": load_before},
        "logs": str(log_dir),
        "benchmarks": reports,
        "missed": output.missed(reports),
    }
    path = output.write(document)
    print()
    print(output.table(reports))
    print()
    for line in document["missed"]:
        print(f"MISSED  {line}")
    if not document["missed"]:
        print("Every bar met.")
    print(f"\n{document['duration_s']} s in all; JSON: {path} (and bench/results/latest.json)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
