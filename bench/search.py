"""Search: server time of `/mail/search/?q=` at ~100k messages, for each operator family
and for free text, beside the inbox page of the same mailbox as its floor.

The mailbox is bench/mirror.py's (bench/corpus.py's people, topics and sentences), so
each query below finds what a person would look for there: a rare word and a common
one, a phrase, a sender, a subject, a label, states, places, sizes, dates, negation and
alternatives, and one that finds nothing (the worst case for a scan). Requests go
through Django's test client in the bench's process; 10 warm-up requests a query, then
rounds of 10 per query, interleaved. Bar (DESIGN.md): p95 under 100 ms for each.
"""

from urllib.parse import urlencode

from django.test import Client

from bench import mirror
from bench.harness import Report, summary_ms
from bench.inbox import _timed_get

P95_BAR_MS = 100.0
WARMUP = 10
ROUNDS = 10
PER_ROUND = 10
QUERIES = {
    "free text, common word": "invoice",
    "free text, rare word": "rehearsal",
    "free text, nothing found": "zyzzyva",
    "exact phrase": '"please review the changes"',
    "from:": "from:priya",
    "to: and cc:": "to:bench cc:nobody",
    "subject:": "subject:contract",
    "label:": "label:receipts",
    "in:": "in:sent",
    "is:": "is:unread",
    "has:attachment and filename:": "has:attachment filename:pdf",
    "larger: / smaller:": "larger:2K",
    "before: / after:": "after:2026/11/01 before:2026/11/15",
    "older_than: / newer_than:": "newer_than:7d",
    "negation": "-in:inbox -is:read",
    "OR and { }": "{from:billing from:trips} OR subject:flight",
    "in:anywhere (trash and spam too)": "in:anywhere budget",
}


def run(ctx):
    report = Report("search")
    size = max(ctx.inbox_sizes)
    user, _, counts = mirror.mailbox_load(
        username="search", email="search@bench.example", messages=size, seed=size + 1
    )
    mirror.analyze()
    ctx.say(f"search: {counts['messages']} messages, {counts['threads']} threads")
    client = Client()
    client.force_login(user)
    targets = [("floor", "/mail/")] + [
        (name, "/mail/search/?" + urlencode({"q": q})) for name, q in QUERIES.items()
    ]
    found = {}
    for name, url in targets:
        body = client.get(url).content
        found[name] = body.count(b'<li class="thread')
        for _ in range(WARMUP):
            _timed_get(client, url)
    samples = {name: [] for name, _ in targets}
    for round_no in range(ROUNDS):
        shift = round_no % len(targets)
        for name, url in targets[shift:] + targets[:shift]:
            samples[name].extend(_timed_get(client, url) for _ in range(PER_ROUND))
    floor = summary_ms(samples["floor"])
    label = f"{counts['messages'] // 1000}k"
    report.add(f"inbox page p95 at {label} msgs (the floor)", floor["p95"], "ms")
    figures = {}
    for name, q in QUERIES.items():
        figures[name] = stats = summary_ms(samples[name])
        report.add(
            f"{name} `{q}` p95 ({found[name]} rows)",
            stats["p95"],
            "ms",
            floor=floor["p95"],
            bar=f"<{P95_BAR_MS:g} ms",
            passed=stats["p95"] < P95_BAR_MS,
        )
    report.details = {
        "floor_ms": floor,
        "queries": {
            name: {"q": q, "ms": figures[name], "rows": found[name]} for name, q in QUERIES.items()
        },
        "mailbox": counts,
        "requests_per_query": ROUNDS * PER_ROUND,
    }
    return report
