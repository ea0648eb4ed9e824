"""`retry ENDPOINT [VERSION]`: ask the deployer, once, to deploy a version it holds back.

After a deployment of version V failed or was rolled back (e.g. by an alarm), the deployer does not
deploy V again on its own: its newest ledger state for the endpoint is `failed`/`rolled_back` for V
(lambdas/deployer/controller.py, `decide`). A `requested` ledger entry for V, newer than that state,
lifts the hold for one attempt: the deployer then starts the deployment (`in_progress`), and if that
fails or rolls back again, V is held back again. Nothing else is changed (not the registry, not the
endpoint); the deployer acts at its next look (any event of the endpoint or group, or the periodic
sweep).
"""

from __future__ import annotations

import argparse
from typing import Any

from deployer.models import BLOCKING_STATUSES, REQUESTED, SUPERSEDED

from mlops_cli.context import Context, Result
from mlops_cli.deployments import Deployment, resolve_endpoint
from mlops_cli.errors import EXIT_USAGE, CliError, translated
from mlops_cli.registry import Version

SWEEP_MINUTES = 10  # stacks/constructs/deployment_triggers.py


def deployment_state(entries_newest_first: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The entry the deployer decides from: the newest one that is not a `superseded` note."""
    return next((e for e in entries_newest_first if e.get("status") != SUPERSEDED), None)


def held_back(state: dict[str, Any] | None, version: Version) -> bool:
    """Whether the deployer will not deploy `version` on its own (it failed or rolled back last)."""
    return (
        state is not None
        and state.get("status") in BLOCKING_STATUSES
        and state.get("model_package_arn") == version.arn
    )


def hold_text(state: dict[str, Any]) -> str:
    status = str(state.get("status", "")).replace("_", " ")
    reason = f": {state['reason']}" if state.get("reason") else ""
    return f"version {state.get('version')} {status} at {state.get('at')}{reason}"


def desired_version(versions: list[Version], follows: str) -> Version | None:
    return next((v for v in sorted(versions, key=lambda v: -v.version) if v.matches(follows)), None)


def run_retry(ctx: Context, args: argparse.Namespace) -> Result:
    if not args.reason.strip():
        raise CliError("--reason must not be empty", EXIT_USAGE)
    deployment = resolve_endpoint(ctx.deployments(), args.endpoint)
    versions = ctx.registry.versions(deployment.group)
    desired = desired_version(versions, deployment.follows)
    if desired is None:
        raise CliError(
            f"no version of {deployment.group} matches {deployment.follows!r}: there is nothing to retry",
            EXIT_USAGE,
        )
    if args.version is not None and args.version != desired.version:
        raise CliError(
            f"the deployer deploys the newest version matching {deployment.follows!r} "
            f"(version {desired.version}), not version {args.version}",
            EXIT_USAGE,
            hint=f"to go back to an older version: `mlops rollback {deployment.endpoint} --to "
            f"{args.version} --reason ...`",
        )
    recent = ctx.ledger.timeline(deployment.endpoint_id, newest_first=True, limit=25)
    state = deployment_state(recent)
    if state is None or not held_back(state, desired):
        now = (
            f"its latest ledger entry is {state.get('status')} of version {state.get('version')}"
            if state
            else "no ledger entry"
        )
        raise CliError(
            f"the deployer does not hold version {desired.version} back for {deployment.endpoint} ({now}): "
            "there is nothing to retry",
            EXIT_USAGE,
            hint=f"see `mlops status {deployment.endpoint}` and `mlops history {deployment.endpoint}`",
        )
    entry = _request(ctx, deployment, desired, state, args.reason)
    text = (
        f"{hold_text(state)}\n"
        f"requested one more attempt of version {desired.version} on {deployment.endpoint_id} "
        f"(ledger entry {entry['at']})\n"
        f"the deployer starts it at its next look (an event of the endpoint or group, or the sweep "
        f"within {SWEEP_MINUTES} minutes); if it fails or rolls back again, version {desired.version} "
        "is held back again. Follow with `mlops status` / `mlops history`."
    )
    return Result({"endpoint_id": deployment.endpoint_id, "held_back": state, "requested": entry}, text)


def _request(
    ctx: Context, deployment: Deployment, desired: Version, state: dict[str, Any], reason: str
) -> dict[str, Any]:
    from deployer.ledger import Ledger as LedgerWriter
    from deployer.models import LedgerEntry

    who = _caller(ctx)
    entry = LedgerEntry(
        status=REQUESTED,
        endpoint=deployment.endpoint,
        account=deployment.account,
        region=deployment.region,
        group=deployment.group,
        model_package_arn=desired.arn,
        version=desired.version,
        # What the endpoint serves does not change with a request: carry it over, so "which version
        # served X at T" stays right for a T after this entry.
        previous_package_arn=state.get("serving_package_arn"),
        previous_version=state.get("serving_version"),
        serving_package_arn=state.get("serving_package_arn"),
        serving_version=state.get("serving_version"),
        endpoint_config=state.get("endpoint_config"),
        approved_by=who,
        approval_description=reason,
        reason=f"retry requested by {who or 'the mlops CLI'}: {reason}",
    )
    with translated(
        needs=f"dynamodb:PutItem on the ledger table {ctx.ledger.table} for this endpoint "
        "(the team approver role mlops-<team>-approver has it for its own groups' endpoints)"
    ):
        stored = LedgerWriter(ctx.ledger.dynamodb, ctx.ledger.table).append(entry)
    return stored.to_dict()


def _caller(ctx: Context) -> str | None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:  # GetCallerIdentity needs no permission
        return str(ctx.aws.client("sts").get_caller_identity()["Arn"])
    except (ClientError, BotoCoreError):
        return None
