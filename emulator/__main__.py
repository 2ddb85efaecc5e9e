"""``python -m emulator``: serve the local Google on one port."""

import argparse
import asyncio
import logging
import sys
import time

import uvicorn

from . import live, seed
from .app import create_app
from .config import Config
from .state import Emulator


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m emulator",
        description="A local Google: OAuth/OIDC, the Gmail API v1 and Pub/Sub push.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8085)
    parser.add_argument("--seed", choices=sorted(seed.SEEDS), default="empty")
    parser.add_argument("--push-endpoint", help="where Pub/Sub pushes notifications")
    parser.add_argument("--push-token", help="appended to the endpoint as ?token=")
    parser.add_argument("--push-audience", help="aud of the push OIDC token (default: endpoint)")
    parser.add_argument("--push-service-account", help="email claim of the push OIDC token")
    parser.add_argument("--client-id", help="accept only this OAuth client (default: any)")
    parser.add_argument("--client-secret", help="require this client secret (default: any)")
    parser.add_argument("--issuer", help="iss of ID tokens (default: https://accounts.google.com)")
    parser.add_argument("--auto-consent", action="store_true", help="approve sign-ins at once")
    parser.add_argument("--token-ttl", type=int, help="access token lifetime in seconds")
    parser.add_argument(
        "--refresh-token-ttl",
        type=int,
        help="refresh token lifetime in seconds (Google's Testing status: 604800; default: none)",
    )
    parser.add_argument("--quota", type=int, help="quota units per user per minute")
    parser.add_argument(
        "--live-interval",
        type=float,
        default=0.0,
        help="deliver a new message to every user each N seconds (0: off)",
    )
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> Config:
    config = Config(live_interval_s=args.live_interval, auto_consent=args.auto_consent)
    optional = {
        "push_endpoint": args.push_endpoint,
        "push_token": args.push_token,
        "push_audience": args.push_audience,
        "push_service_account": args.push_service_account,
        "client_id": args.client_id,
        "client_secret": args.client_secret,
        "issuer": args.issuer,
        "token_ttl_s": args.token_ttl,
        "refresh_token_ttl_s": args.refresh_token_ttl,
        "quota_units_per_minute": args.quota,
    }
    config.update({k: v for k, v in optional.items() if v is not None})
    return config


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    started = time.monotonic()
    emulator = Emulator(config_from(args))
    summary = seed.SEEDS[args.seed](emulator)
    app = create_app(emulator, background=[lambda: asyncio.create_task(live.run(emulator))])
    print(
        f"Google emulator on http://{args.host}:{args.port} "
        f"(seed {args.seed}: {summary}; ready in {time.monotonic() - started:.2f}s)",
        flush=True,
    )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        timeout_graceful_shutdown=2,
    )


if __name__ == "__main__":
    sys.exit(main())
