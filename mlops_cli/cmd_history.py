"""`history ENDPOINT [--at TIME]`: the deployment ledger's timeline, or which version served at a time."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from mlops_cli.context import Context, Result
from mlops_cli.deployments import resolve_endpoint
from mlops_cli.errors import EXIT_NOT_FOUND, EXIT_USAGE, CliError
from mlops_cli.formatting import table
from mlops_cli.ledger import format_at, parse_time


def endpoint_id_of(ctx: Context, text: str) -> str:
    """`<account>/<region>/<name>` as given, or a plain name resolved through DEPLOYMENTS."""
    if text.count("/") == 2 and all(text.split("/")):
        return text
    try:
        deployments = ctx.deployments()
    except CliError as exc:
        exc.hint = (
            exc.hint + "; " if exc.hint else ""
        ) + "or pass the full id <account>/<region>/<endpoint name>"
        raise
    return resolve_endpoint(deployments, text).endpoint_id


def run_history(ctx: Context, args: argparse.Namespace) -> Result:
    moment = parse_time(args.at) if args.at else None  # validate before any AWS call
    if moment is not None and moment > datetime.now(UTC):
        raise CliError(
            f"--at {format_at(moment)} is in the future: the ledger records what happened, not what will",
            EXIT_USAGE,
            hint="use `mlops status` for what the deployer will do next, or --at now",
        )
    eid = endpoint_id_of(ctx, args.endpoint)
    if moment is not None:
        entry = ctx.ledger.at(eid, moment)  # exactly one Query
        if entry is None:
            raise CliError(
                f"no ledger entry for {eid} at or before {format_at(moment)}",
                EXIT_NOT_FOUND,
                hint="the endpoint was not managed yet then (see `mlops history` for its timeline)",
            )
        served = entry.get("serving_version")
        data = {
            "endpoint_id": eid,
            "at": format_at(moment),
            "serving_version": served,
            "serving_package_arn": entry.get("serving_package_arn"),
            "entry": entry,
        }
        text = (
            f"{eid} served version {served if served is not None else 'none'} at {format_at(moment)}\n"
            f"(ledger entry {entry['at']}: {entry.get('status')}"
            + (f", {entry['reason']}" if entry.get("reason") else "")
            + ")"
        )
        return Result(data, text)
    entries = ctx.ledger.timeline(eid, newest_first=args.limit is not None, limit=args.limit)
    if args.limit is not None:
        entries.reverse()
    if not entries:
        raise CliError(
            f"no ledger entries for {eid}", EXIT_NOT_FOUND, hint="check the endpoint name and --region"
        )
    rows = [
        [
            e.get("at"),
            e.get("status"),
            e.get("version"),
            e.get("previous_version"),
            e.get("serving_version"),
            e.get("approved_by"),
            e.get("reason"),
        ]
        for e in entries
    ]
    text = table(["at", "status", "version", "previous", "serving", "approved by", "reason"], rows)
    return Result({"endpoint_id": eid, "entries": entries}, text)
