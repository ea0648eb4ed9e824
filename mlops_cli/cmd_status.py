"""`status [ENDPOINT]`: live vs desired version per managed endpoint, and whether anything is stuck."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mlops_cli.context import Context, Result
from mlops_cli.deployments import Deployment, resolve_endpoint
from mlops_cli.endpoints import BUSY_STATUSES, NO_ACCESS, EndpointState, read_endpoint
from mlops_cli.errors import EXIT_OK, EXIT_STUCK, CliError
from mlops_cli.formatting import table
from mlops_cli.ledger import parse_time
from mlops_cli.registry import Version
from mlops_cli.unconfigured import unconfigured_endpoints

DEFAULT_STUCK_MINUTES = 30
GAVE_UP_STATUSES = ("failed", "rolled_back")


@dataclass(frozen=True)
class Assessment:
    state: str
    stuck: bool


def _as_utc(moment: Any) -> datetime | None:
    if moment is None:
        return None
    if isinstance(moment, str):
        return parse_time(moment)
    if isinstance(moment, datetime):
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return None


def assess(
    *,
    endpoint_status: str,
    live: int | None,
    desired: int | None,
    last_entry: dict[str, Any] | None,
    desired_since: datetime | None,
    now: datetime,
    stuck_after: timedelta,
) -> Assessment:
    """Pure decision: is this endpoint in sync, converging, or stuck?

    Progress is the newer of the last ledger entry and the time the desired version last changed in
    the registry; no progress for longer than `stuck_after` while live != desired means stuck.
    """
    if endpoint_status == "Failed":
        return Assessment("endpoint Failed", True)
    if desired is None:
        return Assessment("no version matches the follows rule", False)
    if live == desired:
        return Assessment("in sync", False)
    if last_entry and last_entry.get("status") in GAVE_UP_STATUSES and last_entry.get("version") == desired:
        return Assessment(
            f"v{desired} {last_entry['status']}: the deployer will not retry it; approve a newer version or "
            f"reject v{desired}",
            True,
        )
    moments = [m for m in (_as_utc(last_entry.get("at")) if last_entry else None, desired_since) if m]
    progress = max(moments) if moments else None
    idle = now - progress if progress else None
    if idle is not None and idle <= stuck_after:
        verb = "deploying" if endpoint_status in BUSY_STATUSES else "waiting for the deployer:"
        return Assessment(f"{verb} v{desired}", False)
    minutes = f"{int(idle.total_seconds() // 60)} min" if idle is not None else "ever"
    return Assessment(f"desired v{desired} != live v{live}; no progress for {minutes}", True)


def _endpoint_report(
    ctx: Context, deployment: Deployment, stuck_after: timedelta, now: datetime
) -> dict[str, Any]:
    state: EndpointState = read_endpoint(ctx.aws, deployment)
    desired: Version | None = ctx.registry.newest_matching(deployment.group, deployment.follows)
    last = ctx.ledger.latest(deployment.endpoint_id)
    live, live_source = state.version, "endpoint"
    if live is None:
        serving = (
            last
            if last and last.get("serving_version") is not None
            else ctx.ledger.latest_serving(deployment.endpoint_id)
        )
        live = int(serving["serving_version"]) if serving else None
        live_source = "ledger" if serving else "unknown"
    desired_since = None
    if desired is not None and desired.version != live:
        package = ctx.registry.sm.describe_model_package(ModelPackageName=desired.arn)
        desired_since = _as_utc(package.get("LastModifiedTime") or package.get("CreationTime"))
    verdict = assess(
        endpoint_status=state.status,
        live=live,
        desired=desired.version if desired else None,
        last_entry=last,
        desired_since=desired_since,
        now=now,
        stuck_after=stuck_after,
    )
    return {
        "endpoint": deployment.endpoint,
        "endpoint_id": deployment.endpoint_id,
        "group": deployment.group,
        "follows": deployment.follows,
        "endpoint_status": state.status,
        "live_version": live,
        "live_source": live_source,
        "desired_version": desired.version if desired else None,
        "last_entry": last,
        "state": verdict.state,
        "stuck": verdict.stuck,
        "problem": state.problem,
    }


def run_status(ctx: Context, args: argparse.Namespace) -> Result:
    if args.stuck_minutes < 0:
        raise CliError("--stuck-minutes must be >= 0")
    deployments = ctx.deployments()
    if args.endpoint:
        deployments = [resolve_endpoint(deployments, args.endpoint)]
    now = datetime.now(UTC)
    stuck_after = timedelta(minutes=args.stuck_minutes)
    reports = ctx.parallel(lambda d: _endpoint_report(ctx, d, stuck_after, now), deployments)
    # endpoints the deployer made that no deployment names any more (retired or forgotten); not when
    # one endpoint was asked for
    unconfigured, notes = (
        ([], []) if args.endpoint else unconfigured_endpoints(ctx, deployments, list(ctx.catalog().retired))
    )
    rows = []
    for r in reports:
        last = r["last_entry"]
        live = r["live_version"]
        rows.append(
            [
                r["endpoint_id"],
                r["follows"],
                r["endpoint_status"],
                f"{live} (ledger)" if live is not None and r["live_source"] == "ledger" else live,
                r["desired_version"],
                f"{last['at']} {last.get('status')}" if last else None,
                ("STUCK: " if r["stuck"] else "") + r["state"],
            ]
        )
    for u in unconfigured:
        rows.append([u["endpoint_id"], "-", u["endpoint_status"], None, None, None, u["state"]])
    text = (
        table(["endpoint", "follows", "status", "live", "desired", "last ledger entry", "state"], rows)
        if rows
        else "no managed endpoints"
    )
    for note in notes:
        text += f"\nnote: {note}"
    if any(r["endpoint_status"] == NO_ACCESS for r in reports):
        text += "\nnote: 'unknown (no access)': the deploy-access role of that account could not be used"
    exit_code = EXIT_STUCK if any(r["stuck"] for r in reports) else EXIT_OK
    return Result({"endpoints": reports, "unconfigured": unconfigured, "notes": notes}, text, exit_code)
