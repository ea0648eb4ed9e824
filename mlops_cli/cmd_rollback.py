"""`rollback ENDPOINT [--to VERSION]`: roll back through the registry, so the action is audited there.

The CLI never touches the endpoint: it changes approval status / lifecycle stage, and the deployer
(a reconciling controller) moves the endpoint to the newest version that still matches its `follows`.

Plan (pure, see `plan_rollback`):
- default: reject the live version (`follows: Approved`), or move it out of the followed stage into
  stage `Archived` with stage status Rejected (`follows: <Stage>`: the deployer matches the stage name
  only); the deployer then serves the newest remaining matching version.
- `--to V` with `follows: Approved`: reject every Approved version newer than V (V must be Approved).
- `--to V` with `follows: <Stage>`: put V into the stage (stage status Approved) if it is not there,
  then move every newer version in that stage to `Archived` (stage status Rejected).
Order: the action that changes the endpoint's desired version runs last (target first, then the
newer versions oldest first, the live version last), so the deployer never starts an intermediate
rollout and a failure half-way leaves the endpoint untouched.
Rejections are group-wide: other endpoints following the same group and rule move too; the plan lists them.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, replace
from typing import Any

from mlops_cli.cmd_approval import team_or_none
from mlops_cli.cmd_retry import deployment_state, held_back, hold_text
from mlops_cli.context import Context, Result
from mlops_cli.deployments import Deployment, resolve_endpoint
from mlops_cli.endpoints import BUSY_STATUSES, read_endpoint
from mlops_cli.errors import EXIT_NOT_FOUND, EXIT_USAGE, CliError
from mlops_cli.formatting import table
from mlops_cli.registry import APPROVED, REJECTED, ROLLED_BACK_STAGE, Version, approver_role

MAX_DESCRIPTION = 1024  # ApprovalDescription and StageDescription


@dataclass(frozen=True)
class Action:
    version: int
    arn: str
    fields: dict[str, Any]
    summary: str


@dataclass
class RollbackPlan:
    endpoint_id: str
    group: str
    follows: str
    live: int
    target: int
    actions: list[Action]
    other_endpoints: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint_id": self.endpoint_id,
            "group": self.group,
            "follows": self.follows,
            "live_version": self.live,
            "target_version": self.target,
            "actions": [
                {"version": a.version, "arn": a.arn, "update": a.fields, "summary": a.summary}
                for a in self.actions
            ],
            "other_endpoints": self.other_endpoints,
            "warnings": self.warnings,
        }


def _apply(version: Version, fields: dict[str, Any]) -> Version:
    life = fields.get("ModelLifeCycle")
    return replace(
        version,
        approval=fields.get("ModelApprovalStatus", version.approval),
        stage=life["Stage"] if life else version.stage,
        stage_status=life["StageStatus"] if life else version.stage_status,
    )


def _newest(versions: list[Version], follows: str) -> int | None:
    matching = [v.version for v in versions if v.matches(follows)]
    return max(matching) if matching else None


def plan_rollback(
    *,
    deployment: Deployment,
    versions: list[Version],
    live: int,
    reason: str,
    to: int | None = None,
    others: list[Deployment] = (),  # type: ignore[assignment]
    state: dict[str, Any] | None = None,
) -> RollbackPlan:
    """Decide the registry changes for a rollback. Pure: raises CliError when no safe plan exists."""
    by_number = {v.version: v for v in versions}
    follows = deployment.follows
    name = deployment.endpoint
    if live not in by_number:
        raise CliError(
            f"the live version {live} of {deployment.group} is not in the registry", EXIT_NOT_FOUND
        )
    # The deployer follows a stage by name only, so a version leaves the stage by moving to another one.
    out_stage = ROLLED_BACK_STAGE if follows != ROLLED_BACK_STAGE else "RolledBack"
    leave_stage = {
        "Stage": out_stage,
        "StageStatus": REJECTED,
        "StageDescription": f"taken out of {follows}: {reason}"[:MAX_DESCRIPTION],
    }

    changes: dict[int, dict[str, Any]] = {}
    if to is None:
        if not by_number[live].matches(follows):
            raise CliError(
                f"the live version {live} no longer matches {follows!r}: the deployer is already moving "
                f"{name} away from it",
                EXIT_USAGE,
                hint=f"see `mlops status {name}`",
            )
        if follows == APPROVED:
            changes[live] = {"ModelApprovalStatus": REJECTED, "ApprovalDescription": reason}
        else:
            changes[live] = {"ModelLifeCycle": leave_stage}
    else:
        if to not in by_number:
            raise CliError(f"version {to} of {deployment.group} does not exist", EXIT_NOT_FOUND)
        target = by_number[to]
        if to == live:
            raise CliError(f"{name} already serves version {to}", EXIT_USAGE)
        if to > live:
            raise CliError(
                f"--to {to} is newer than the live version {live}",
                EXIT_USAGE,
                hint=f"to move forward, `mlops approve` or `mlops promote` version {to}",
            )
        if target.approval == REJECTED:
            raise CliError(
                f"version {to} is Rejected",
                EXIT_USAGE,
                hint=f"approve it first (`mlops approve {deployment.group} {to} --reason ...`) if you really want it",
            )
        if follows == APPROVED:
            if target.approval != APPROVED:
                raise CliError(
                    f"version {to} is {target.approval}, not Approved",
                    EXIT_USAGE,
                    hint="roll back to an approved version, or approve this one first",
                )
            for version in versions:
                if version.version > to and version.approval == APPROVED:
                    changes[version.version] = {
                        "ModelApprovalStatus": REJECTED,
                        "ApprovalDescription": reason,
                    }
        else:
            if not target.matches(follows):
                changes[to] = {
                    "ModelLifeCycle": {"Stage": follows, "StageStatus": APPROVED, "StageDescription": reason}
                }
            for version in versions:
                if version.version > to and version.matches(follows):
                    changes[version.version] = {"ModelLifeCycle": leave_stage}

    after = [_apply(v, changes[v.version]) if v.version in changes else v for v in versions]
    new_target = _newest(after, follows)
    if new_target is None:
        raise CliError(
            f"after rejecting version {live} no version of {deployment.group} matches {follows!r}: "
            f"the deployer would have nothing to deploy and {name} would keep serving version {live}",
            EXIT_USAGE,
            hint="register and approve a replacement, or pick one with --to",
        )
    if held_back(state, by_number[new_target]) and new_target != live:
        assert state is not None
        raise CliError(
            f"after this rollback the deployer would want version {new_target}, but it holds that version "
            f"back ({hold_text(state)}): {name} would stay on version {live}",
            EXIT_USAGE,
            hint=f"pick an older version with --to, or try version {new_target} once more with "
            f"`mlops retry {name} {new_target} --reason ...`",
        )
    if to is not None and new_target != to:  # pragma: no cover - the rules above guarantee it
        raise CliError(f"internal error: plan leads to version {new_target}, not {to}", EXIT_USAGE)

    order = ([to] if to is not None and to in changes else []) + sorted(v for v in changes if v != to)
    actions = [Action(v, by_number[v].arn, changes[v], _summary(v, changes[v])) for v in order]

    plan = RollbackPlan(deployment.endpoint_id, deployment.group, follows, live, new_target, actions)
    for other in others:
        if other.endpoint_id == deployment.endpoint_id or other.group != deployment.group:
            continue
        before_v, after_v = _newest(versions, other.follows), _newest(after, other.follows)
        if before_v != after_v:
            plan.other_endpoints.append({"endpoint_id": other.endpoint_id, "from": before_v, "to": after_v})
    if new_target > live:
        plan.warnings.append(
            f"version {new_target} is newer than the live version {live} and still matches {follows!r}: "
            f"the deployer will deploy it (use --to to pick an older version)"
        )
    if len(actions) > 1:
        plan.warnings.append(
            f"{len(actions)} registry changes; they are group-wide and stay after the rollback"
        )
    return plan


def _summary(version: int, fields: dict[str, Any]) -> str:
    parts = []
    if "ModelApprovalStatus" in fields:
        parts.append(f"set approval of v{version} to {fields['ModelApprovalStatus']}")
    if "ModelLifeCycle" in fields:
        life = fields["ModelLifeCycle"]
        parts.append(f"set lifecycle of v{version} to {life['Stage']}/{life['StageStatus']}")
    return " and ".join(parts)


def _live_version(ctx: Context, deployment: Deployment) -> tuple[int, str, str]:
    """(live version, where it was read, endpoint status) from the endpoint itself, else the ledger."""
    state = read_endpoint(ctx.aws, deployment)
    if state.version is not None:
        return state.version, "endpoint", state.status
    entry = ctx.ledger.latest_serving(deployment.endpoint_id)
    if entry and entry.get("serving_version") is not None:
        return int(entry["serving_version"]), f"ledger entry {entry['at']}", state.status
    raise CliError(
        f"cannot tell which version {deployment.endpoint} serves (endpoint: {state.status}, ledger: no entry)",
        EXIT_NOT_FOUND,
    )


def describe_plan(plan: RollbackPlan, deployment: Deployment, source: str, endpoint_status: str) -> str:
    lines = [
        f"endpoint {plan.endpoint_id} follows {plan.follows} in group {plan.group}",
        f"live version: {plan.live} (read from {source}); endpoint status: {endpoint_status}",
        "registry changes, in this order:",
    ]
    lines += [f"  {i}. {a.summary}" for i, a in enumerate(plan.actions, 1)]
    alarms = ", ".join(deployment.alarms) or "none"
    lines.append(
        f"then the deployer updates {deployment.endpoint} from version {plan.live} to version {plan.target} "
        f"in place ({deployment.rollout_text()}; auto-rollback alarms: {alarms})"
    )
    if endpoint_status in BUSY_STATUSES:
        lines.append(f"  (the endpoint is {endpoint_status} now: the deployer acts once that finishes)")
    if plan.other_endpoints:
        lines.append("other endpoints following this group move too:")
        lines.append(
            table(
                ["endpoint", "from", "to"],
                [[o["endpoint_id"], o["from"], o["to"]] for o in plan.other_endpoints],
            )
        )
    lines += [f"warning: {w}" for w in plan.warnings]
    return "\n".join(lines)


def _confirm(ctx: Context, args: argparse.Namespace, text: str) -> None:
    if args.yes:
        return
    if not ctx.stdin.isatty():
        raise CliError(
            "rollback changes the registry: pass --yes to confirm (stdin is not a terminal, so no prompt)",
            EXIT_USAGE,
            hint="use --dry-run to print the plan only",
        )
    out = ctx.stderr if args.json else ctx.stdout
    print(text, file=out)
    print("Proceed? [y/N] ", end="", file=out, flush=True)
    answer = ctx.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise CliError("aborted: nothing was changed", EXIT_USAGE)


def run_rollback(ctx: Context, args: argparse.Namespace) -> Result:
    if not args.reason.strip():
        raise CliError("--reason must not be empty", EXIT_USAGE)
    deployments = ctx.deployments()
    deployment = resolve_endpoint(deployments, args.endpoint)
    registry = ctx.registry
    group = registry.group(deployment.group)
    live, source, endpoint_status = _live_version(ctx, deployment)
    reason = f"rollback of {deployment.endpoint_id}: {args.reason}"[:MAX_DESCRIPTION]
    # The deployer does not redeploy a version whose last attempt failed or rolled back: the plan
    # must know, so it never promises a deployment that will not happen.
    state = deployment_state(ctx.ledger.timeline(deployment.endpoint_id, newest_first=True, limit=25))
    plan = plan_rollback(
        deployment=deployment,
        versions=registry.versions(deployment.group),
        live=live,
        reason=reason,
        to=args.to,
        others=deployments,
        state=state,
    )
    text = describe_plan(plan, deployment, source, endpoint_status)
    data = {**plan.as_dict(), "live_source": source, "endpoint_status": endpoint_status, "applied": []}
    if args.dry_run:
        return Result({**data, "dry_run": True}, text + "\ndry run: nothing was changed")
    _confirm(ctx, args, text)

    needs = approver_role(team_or_none(ctx, group["ModelPackageGroupArn"]))
    applied: list[int] = []
    for action in plan.actions:
        try:
            registry.update(action.arn, needs=needs, **action.fields)
        except CliError as exc:
            done = ", ".join(f"v{v}" for v in applied) or "none"
            exc.message += f" (changes already applied: {done}; the endpoint's desired version is unchanged)"
            raise
        applied.append(action.version)
    data["applied"] = applied
    return Result(
        data,
        text + f"\ndone: {len(applied)} registry change(s) applied; follow with `mlops status "
        f"{deployment.endpoint}`",
    )
