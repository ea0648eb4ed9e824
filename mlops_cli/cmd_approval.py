"""Registry changes: `approve`, `reject`, `promote`. The deployer reacts to them (DESIGN section 3)."""

from __future__ import annotations

import argparse
import re
from typing import Any

from mlops_cli.context import Context, Result
from mlops_cli.errors import EXIT_DENIED, EXIT_USAGE, CliError
from mlops_cli.registry import APPROVED, REJECTED, approver_role

MAX_DESCRIPTION = 1024  # ApprovalDescription / StageDescription
STAGE_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")  # ModelLifeCycle.Stage / StageStatus


def team_or_none(ctx: Context, group_arn: str) -> str | None:
    """The owner team for role hints; None when the tags cannot be read."""
    try:
        return ctx.registry.team(group_arn)
    except CliError as exc:
        if exc.exit_code != EXIT_DENIED:
            raise
        return None


def _followers(ctx: Context, group: str, follows: str) -> list[dict[str, Any]] | None:
    deployments = ctx.deployments_or_none()
    if deployments is None:
        return None
    return [
        {"endpoint": d.endpoint, "endpoint_id": d.endpoint_id, "follows": d.follows}
        for d in deployments
        if d.group == group and d.follows == follows
    ]


def _followers_text(followers: list[dict[str, Any]] | None, follows: str) -> str:
    if followers is None:
        return ""
    if not followers:
        return f"\nno managed endpoint follows {follows} in this group"
    names = ", ".join(f["endpoint_id"] for f in followers)
    return f"\nthe deployer reconciles the endpoints that follow {follows}: {names}"


def _set_approval(ctx: Context, args: argparse.Namespace, status: str) -> Result:
    if not args.reason.strip():
        raise CliError("--reason must not be empty", EXIT_USAGE)
    if len(args.reason) > MAX_DESCRIPTION:
        raise CliError(
            f"--reason is longer than {MAX_DESCRIPTION} characters (the ApprovalDescription limit)"
        )
    registry = ctx.registry
    group = registry.group(args.group)
    package = registry.describe(args.group, args.version, group["ModelPackageGroupArn"])
    team = team_or_none(ctx, group["ModelPackageGroupArn"])
    before = package.get("ModelApprovalStatus")
    registry.set_approval(package["ModelPackageArn"], status, args.reason, needs=approver_role(team))
    followers = _followers(ctx, args.group, APPROVED)
    data = {
        "group": args.group,
        "version": args.version,
        "arn": package["ModelPackageArn"],
        "previous_status": before,
        "status": status,
        "reason": args.reason,
        "endpoints": followers,
    }
    text = f"{args.group} v{args.version}: {before} -> {status} ({args.reason})" + _followers_text(
        followers, APPROVED
    )
    return Result(data, text)


def run_approve(ctx: Context, args: argparse.Namespace) -> Result:
    return _set_approval(ctx, args, APPROVED)


def run_reject(ctx: Context, args: argparse.Namespace) -> Result:
    return _set_approval(ctx, args, REJECTED)


def run_promote(ctx: Context, args: argparse.Namespace) -> Result:
    for flag, value in (("--stage", args.stage), ("--stage-status", args.stage_status)):
        if not STAGE_PATTERN.fullmatch(value):
            raise CliError(
                f"{flag} {value!r} is not a valid lifecycle name",
                EXIT_USAGE,
                hint="1-63 letters, digits or hyphens, starting and ending with a letter or digit",
            )
    if args.reason and len(args.reason) > MAX_DESCRIPTION:
        raise CliError(f"--reason is longer than {MAX_DESCRIPTION} characters (the StageDescription limit)")
    registry = ctx.registry
    group = registry.group(args.group)
    package = registry.describe(args.group, args.version, group["ModelPackageGroupArn"])
    team = team_or_none(ctx, group["ModelPackageGroupArn"])
    before = package.get("ModelLifeCycle") or {}
    # Only ModelLifeCycle is sent: the approval status is left as it is (and approving needs another
    # permission). Note: moto 5.2.5 wipes the approval on such an update; real SageMaker does not.
    registry.set_stage(
        package["ModelPackageArn"], args.stage, args.stage_status, args.reason, needs=approver_role(team)
    )
    followers = _followers(ctx, args.group, args.stage)
    data = {
        "group": args.group,
        "version": args.version,
        "arn": package["ModelPackageArn"],
        "previous_stage": before.get("Stage"),
        "previous_stage_status": before.get("StageStatus"),
        "stage": args.stage,
        "stage_status": args.stage_status,
        "reason": args.reason,
        "approval_status": package.get("ModelApprovalStatus"),
        "endpoints": followers,
    }
    previous = f"{before['Stage']}/{before.get('StageStatus')}" if before.get("Stage") else "no stage"
    text = f"{args.group} v{args.version}: {previous} -> {args.stage}/{args.stage_status}"
    if args.reason:
        text += f" ({args.reason})"
    return Result(data, text + _followers_text(followers, args.stage))
