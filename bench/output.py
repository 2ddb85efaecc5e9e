"""The table on stdout and the JSON under bench/results/."""

import datetime as dt
import json
import math
import os
import platform
import subprocess
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
COLUMNS = ["benchmark", "metric", "value", "floor", "ratio", "bar", "result"]


def _number(value, unit=""):
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        text = f"{value:.0f}" if abs(value) >= 1000 else f"{value:.3g}"
        if abs(value) >= 10 and abs(value) < 1000:
            text = f"{value:.1f}"
    else:
        text = str(value)
    return f"{text} {unit}".strip() if unit else text


def _verdict(passed):
    if passed is None:
        return ""
    return "ok" if passed else "MISSED"


def table(reports):
    lines = []
    for report in reports:
        for row in report["rows"]:
            lines.append(
                [
                    report["name"],
                    row["metric"],
                    _number(row["value"], row["unit"]),
                    _number(row["floor"], row["unit"]) if row["floor"] is not None else "",
                    f"{row['ratio']:.2f}x" if row["ratio"] is not None else "",
                    row["bar"],
                    _verdict(row["pass"]),
                ]
            )
    widths = [max(len(str(c)) for c in column) for column in zip(COLUMNS, *lines, strict=False)]
    rule = "  ".join("-" * w for w in widths)

    def fmt(cells):
        out = []
        for index, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            numeric = index in (2, 3, 4)
            out.append(str(cell).rjust(width) if numeric else str(cell).ljust(width))
        return "  ".join(out).rstrip()

    return "\n".join([fmt(COLUMNS), rule, *(fmt(line) for line in lines)])


def missed(reports):
    return [
        f"{report['name']}: {row['metric']} = {_number(row['value'], row['unit'])} "
        f"(bar {row['bar']})"
        for report in reports
        for row in report["rows"]
        if row["pass"] is False
    ]


def _git_commit():
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        return result.stdout.strip() or None
    except OSError:
        return None


def machine():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "postgres": postgres,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "commit": _git_commit(),
    }


def write(document):
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str)
    path = RESULTS_DIR / f"{stamp}.json"
    path.write_text(text + "\n")
    (RESULTS_DIR / "latest.json").write_text(text + "\n")
    return path
