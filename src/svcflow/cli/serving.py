"""serve, tokens: the HTTP API and the API tokens that may call it."""

from __future__ import annotations

import argparse

from svcflow.errors import SvcflowError

__all__ = ["run_serve", "run_tokens"]


def run_serve(args: argparse.Namespace) -> int:
    """Serve the engine of ``--store`` and ``--workflows`` over HTTP until SIGTERM."""
    try:
        from svcflow.serve.server import ServeOptions, serve
    except ModuleNotFoundError as missing:
        raise SvcflowError(
            f"svcflow serve needs {missing.name}: pip install 'svcflow[serve]'"
        ) from None
    from svcflow.cli.workers import shown
    from svcflow.serve import TokenFile

    if args.demo:
        from svcflow.cli.console_demo import run_console_demo

        return run_console_demo(args)
    if args.store is None:
        raise SvcflowError("svcflow serve needs --store URL (or --demo for the demo console)")
    if not TokenFile(args.tokens).tokens():
        print(f"note: {args.tokens} holds no API token; create one: svcflow tokens create NAME")
    options = ServeOptions(
        store=args.store,
        workflows=args.workflows,
        tokens=args.tokens,
        host=args.host,
        port=args.port,
        workers=args.workers,
        with_worker=args.with_worker,
        max_body_bytes=args.max_body,
        max_message_bytes=args.max_message,
        token_rate=args.token_rate,
        address_rate=args.address_rate,
    )
    extra = f", {args.workers} processes" if args.workers > 1 else ""
    extra += ", with a worker" if args.with_worker else ""
    where = f"http://{args.host}:{args.port}"
    print(f"svcflow serve on {where} for {shown(args.store)}{extra}", flush=True)
    serve(options)
    return 0


def run_tokens(args: argparse.Namespace) -> int:
    """create, list or revoke API tokens in the token file."""
    from svcflow.serve.tokens import TokenFile

    tokens = TokenFile(args.tokens)
    if args.action == "create":
        created = tokens.create(args.name, args.scope or ["read"])
        print(f"created token {created.token.id} ({created.token.name}): "
              f"{', '.join(created.token.scopes)}")  # fmt: skip
        print("the token, shown only now (keep it secret):")
        print(created.secret)
        return 0
    if args.action == "revoke":
        revoked = tokens.revoke(args.id)
        print(f"revoked token {revoked.id} ({revoked.name})")
        return 0
    for token in tokens.tokens():
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
        made = f"{token.created_at:%Y-%m-%d %H:%M}"
        print(f"{token.id}  {token.name:<20} {','.join(token.scopes):<24} {made}  {state}")
    return 0
