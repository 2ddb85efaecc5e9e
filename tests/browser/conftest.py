"""Browser tests: Debian's Chromium, driven by Playwright's sync API, against Tern served
by pytest-django's ``live_server`` and Google played by the emulator.

Playwright's sync API marks its asyncio loop as running in this thread for as long as
Playwright is started, so Django refuses ORM calls here meanwhile (SynchronousOnlyOperation).
Hence:

- ``page`` starts Playwright and Chromium for one test only, after the test database and
  the live server are set up, and stops them before the database is flushed. Every
  fixture and every later test therefore runs with no loop in this thread.
- Inside a browser test, database work goes through ``django_thread(fn, ...)``, which runs
  it in a short-lived thread of its own (the tests use ``transaction=True``, so that
  thread sees what the live server committed).

Fixtures: ``page`` (a fresh Chromium and page; when the test fails, its URL, console and
the emulator's log join the report), ``google`` (the emulator with Alice's identities).
"""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous: a loaded machine must not make these tests flaky. Nothing waits this long
# when the app works; every wait ends as soon as the page shows what a person waits for.
TIMEOUT_MS = 15_000

ALICE = "alice@example.com"
ALICE_WORK = "alice@work.example"
PEOPLE = ((ALICE, "Alice Example"), (ALICE_WORK, "Alice at Work"))

expect.set_options(timeout=TIMEOUT_MS)


def django_thread(fn, *args, **kwargs):
    """Run ``fn`` (database work) in a thread of its own and answer its result."""

    def run():
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing browser test's report shows where the browser was, what its console
    said (a Content-Security-Policy refusal shows up only there) and the emulator's log."""
    report = yield
    if report.when != "call" or not report.failed:
        return report
    page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    if page is not None and not page.is_closed():
        console = getattr(item, "browser_console", [])
        report.sections.append(("browser", "\n".join([f"URL: {page.url}", *console])))
    server = item.funcargs.get("emulator_server") if hasattr(item, "funcargs") else None
    if server is not None:
        log = server.log_text().splitlines()[-50:]
        report.sections.append(("emulator log (last lines)", "\n".join(log)))
    return report


@pytest.fixture
def page(live_server, transactional_db, emulator_server, request):
    console = request.node.browser_console = []
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.on(
            "console", lambda message: console.append(f"console.{message.type}: {message.text}")
        )
        page.on("pageerror", lambda error: console.append(f"page error: {error}"))
        yield page
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def google(emulator):
    """The emulator with Alice's two Google identities."""
    for email, name in PEOPLE:
        emulator.create_user(email, name)
    return emulator


@pytest.fixture(autouse=True)
def no_leftover_sync_tasks(settings):
    """Signing in enqueues the first sync on the real Redis broker, where no worker runs
    in these tests. Take those messages back afterwards, so that a worker of a later test
    does not pick up a sync for an account that no longer exists."""
    import redis

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queues = ("sync", "celery")
    before = {queue: set(broker.lrange(queue, 0, -1)) for queue in queues}
    yield
    for queue in queues:
        for raw in broker.lrange(queue, 0, -1):
            if raw in before[queue]:
                continue
            if json.loads(raw)["headers"]["task"] == "sync.tasks.mailbox_connected":
                broker.lrem(queue, 1, raw)
    broker.close()
