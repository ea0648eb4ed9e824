"""Discovery commands: `groups`, `versions`, `show`, `compare`."""

from __future__ import annotations

import argparse
from typing import Any

from mlops_cli.context import Context, Result
from mlops_cli.errors import EXIT_USAGE, CliError
from mlops_cli.formatting import cell, fields, table
from mlops_cli.metrics import read_metrics, statistics_uri
from mlops_cli.registry import APPROVED, Version

METRIC_COLUMNS = 3


def who(user_info: dict[str, Any] | None) -> str | None:
    """The most specific principal of a SageMaker UserInfo (CreatedBy / LastModifiedBy)."""
    if not user_info:
        return None
    identity = user_info.get("IamIdentity") or {}
    return identity.get("Arn") or user_info.get("UserProfileName") or identity.get("PrincipalId")


def _endpoints_by_group(ctx: Context) -> dict[str, list[Any]] | None:
    deployments = ctx.deployments_or_none()
    if deployments is None:
        return None
    result: dict[str, list[Any]] = {}
    for deployment in deployments:
        result.setdefault(deployment.group, []).append(deployment)
    return result


# groups -------------------------------------------------------------------------------------------
def run_groups(ctx: Context, args: argparse.Namespace) -> Result:
    registry = ctx.registry
    groups = registry.groups()
    teams = ctx.parallel(lambda g: registry.team(g["ModelPackageGroupArn"]), groups)
    search = (args.search or "").lower()
    selected = []
    for group, team in zip(groups, teams, strict=True):
        if args.team and team != args.team:
            continue
        haystack = " ".join(
            [group["ModelPackageGroupName"], group.get("ModelPackageGroupDescription") or "", team or ""]
        ).lower()
        if search and search not in haystack:
            continue
        selected.append((group, team))

    def details(item: tuple[dict[str, Any], str | None]) -> tuple[Version | None, Version | None]:
        name = item[0]["ModelPackageGroupName"]
        return registry.newest(name), registry.newest(name, APPROVED)

    newest = ctx.parallel(details, selected)
    followers = _endpoints_by_group(ctx)
    data = []
    for (group, team), (latest, approved) in zip(selected, newest, strict=True):
        name = group["ModelPackageGroupName"]
        endpoints = (
            None
            if followers is None
            else [
                {"endpoint": d.endpoint, "endpoint_id": d.endpoint_id, "follows": d.follows}
                for d in followers.get(name, [])
            ]
        )
        data.append(
            {
                "group": name,
                "arn": group["ModelPackageGroupArn"],
                "description": group.get("ModelPackageGroupDescription"),
                "team": team,
                "latest_version": latest.version if latest else None,
                "latest_approved_version": approved.version if approved else None,
                "endpoints": endpoints,
            }
        )
    rows = [
        [
            g["group"],
            g["team"],
            g["latest_version"],
            g["latest_approved_version"],
            "?" if g["endpoints"] is None else [f"{e['endpoint']} ({e['follows']})" for e in g["endpoints"]],
        ]
        for g in data
    ]
    if not groups:
        return _no_groups(ctx)
    text = table(["group", "team", "latest", "approved", "endpoints"], rows) if data else "no matching groups"
    return Result(data, text)


def _no_groups(ctx: Context) -> Result:
    """An empty registry, or (more often) the wrong account or region: say which."""
    from mlops_cli.errors import EXIT_NOT_FOUND
    from mlops_cli.whereami import locate

    where = locate(ctx)
    if where is not None and where.elsewhere:
        error = CliError(
            f"no model package groups in account {where.caller_account}, region {where.caller_region}",
            EXIT_NOT_FOUND,
            hint=where.hint(),
        )
        error.located = True
        raise error
    if where is not None:
        ctx.warn(where.hint())
    return Result([], "no model package groups")


# versions -----------------------------------------------------------------------------------------
def _version_detail(ctx: Context, version: Version, with_metrics: bool) -> dict[str, Any]:
    """One DescribeModelPackage (created by, lifecycle) and one S3 read per version; none with --no-metrics."""
    from mlops_cli.errors import translated
    from mlops_cli.registry import reader_needs

    if not with_metrics:
        return {"package": {}, "metrics": {}, "metrics_problem": None}
    with translated(needs=reader_needs()):
        package = ctx.registry.sm.describe_model_package(ModelPackageName=version.arn)
    metrics, problem = read_metrics(ctx.s3, statistics_uri(package))
    return {"package": package, "metrics": metrics, "metrics_problem": problem}


def _version_row(version: Version, detail: dict[str, Any]) -> dict[str, Any]:
    package = detail["package"]
    life = package.get("ModelLifeCycle") or {}
    return {
        "version": version.version,
        "arn": version.arn,
        "status": package.get("ModelApprovalStatus") or version.approval,
        "stage": life.get("Stage") or version.stage,
        "stage_status": life.get("StageStatus") or version.stage_status,
        "created_at": package.get("CreationTime") or version.created_at,
        "created_by": who(package.get("CreatedBy")),
        "metrics": detail["metrics"],
        "metrics_problem": detail["metrics_problem"],
    }


def _missing_metrics_notes(data: list[dict[str, Any]], with_metrics: bool) -> list[str]:
    """Why a version has no metric columns: never registered a report, or the report is unreadable
    (with the permission that would read it)."""
    if not with_metrics:
        return ["(metrics not read: --no-metrics)"] if data else []
    reasons: dict[str, list[int]] = {}
    for row in data:
        if row["metrics"]:
            continue
        problem = row["metrics_problem"] or (
            "no evaluation report registered (ModelMetrics.ModelQuality.Statistics)"
        )
        reasons.setdefault(problem, []).append(row["version"])
    notes = []
    for problem, versions in reasons.items():
        note = f"no metrics for {', '.join(f'v{v}' for v in versions)}: {problem}"
        if "AccessDenied" in problem or "Forbidden" in problem or "403" in problem:
            note += " (reading reports needs s3:GetObject on the team's prefix of the artifact bucket and "
            note += "kms:Decrypt through S3: the team's publisher and approver roles have both)"
        notes.append(note)
    return notes


def run_versions(ctx: Context, args: argparse.Namespace) -> Result:
    ctx.registry.group(args.group)  # unknown group -> not found with close matches
    versions = ctx.registry.versions(args.group, args.status)
    details = ctx.parallel(lambda v: _version_detail(ctx, v, not args.no_metrics), versions)
    data = [_version_row(v, d) for v, d in zip(versions, details, strict=True)]
    names: list[str] = []
    for row in data:
        names.extend(n for n in row["metrics"] if n not in names)
    shown = names[:METRIC_COLUMNS]
    rows = [
        [
            r["version"],
            r["status"],
            f"{r['stage']}/{r['stage_status']}" if r["stage"] else None,
            r["created_at"],
            r["created_by"],
            *[r["metrics"].get(n) for n in shown],
        ]
        for r in data
    ]
    headers = ["version", "status", "stage", "created", "created by", *shown]
    if data:
        text = table(headers, rows)
        if len(names) > len(shown):
            text += f"\n({len(names) - len(shown)} more metrics: use `mlops show` or --json)"
        for note in _missing_metrics_notes(data, not args.no_metrics):
            text += f"\n{note}"
    else:
        text = f"no versions in {args.group}" + (f" with status {args.status}" if args.status else "")
    return Result({"group": args.group, "versions": data}, text)


# show ---------------------------------------------------------------------------------------------
def _deployment_history(ctx: Context, group: str, arn: str, version: int) -> list[dict[str, Any]] | None:
    followers = _endpoints_by_group(ctx)
    if followers is None:
        return None
    result = []
    try:
        for deployment in followers.get(group, []):
            entries = ctx.ledger.for_package(deployment.endpoint_id, arn)
            serving = ctx.ledger.latest_serving(deployment.endpoint_id)
            live = bool(serving and serving.get("serving_version") == version)
            if entries or live:
                result.append({"endpoint_id": deployment.endpoint_id, "live": live, "entries": entries})
    except Exception as exc:  # noqa: BLE001 - deployment history is best effort for `show`
        from botocore.exceptions import ClientError

        if not isinstance(exc, ClientError | CliError):
            raise
        ctx.warn(f"deployment history unknown: cannot read the ledger {ctx.args.ledger_table}: {exc}")
        return None
    return result


def run_show(ctx: Context, args: argparse.Namespace) -> Result:
    registry = ctx.registry
    group = registry.group(args.group)
    package = registry.describe(args.group, args.version, group["ModelPackageGroupArn"])
    team = registry.team(group["ModelPackageGroupArn"])
    uri = statistics_uri(package)
    metrics, problem = read_metrics(ctx.s3, uri)
    life = package.get("ModelLifeCycle") or {}
    containers = (package.get("InferenceSpecification") or {}).get("Containers") or []
    deployments = _deployment_history(ctx, args.group, package["ModelPackageArn"], args.version)
    data = {
        "group": args.group,
        "team": team,
        "version": args.version,
        "arn": package["ModelPackageArn"],
        "description": package.get("ModelPackageDescription"),
        "status": package.get("ModelApprovalStatus"),
        "approval_description": package.get("ApprovalDescription"),
        "last_modified_by": who(package.get("LastModifiedBy")),
        "last_modified_at": package.get("LastModifiedTime"),
        "stage": life.get("Stage"),
        "stage_status": life.get("StageStatus"),
        "stage_description": life.get("StageDescription"),
        "created_at": package.get("CreationTime"),
        "created_by": who(package.get("CreatedBy")),
        "package_status": package.get("ModelPackageStatus"),
        "source_uri": package.get("SourceUri"),
        "containers": [
            {"image": c.get("Image"), "model_data_url": c.get("ModelDataUrl") or _s3_source(c)}
            for c in containers
        ],
        "metrics_report": uri,
        "metrics": metrics,
        "metrics_problem": problem,
        "customer_metadata": package.get("CustomerMetadataProperties") or {},
        "deployments": deployments,
    }
    pairs: list[tuple[str, Any]] = [
        ("group", f"{args.group} (team {cell(team)})"),
        ("version", args.version),
        ("arn", data["arn"]),
        ("description", data["description"]),
        ("status", data["status"]),
        ("approval note", data["approval_description"]),
        ("last modified", f"{cell(data['last_modified_at'])} by {cell(data['last_modified_by'])}"),
        ("stage", f"{life['Stage']}/{life.get('StageStatus')}" if life.get("Stage") else None),
        ("stage note", data["stage_description"]),
        ("created", f"{cell(data['created_at'])} by {cell(data['created_by'])}"),
        ("source", data["source_uri"]),
    ]
    for index, container in enumerate(data["containers"]):
        pairs.append((f"image[{index}]", container["image"]))
        pairs.append((f"artifact[{index}]", container["model_data_url"]))
    pairs.append(("metrics report", uri if not problem else f"{uri} ({problem})"))
    text = fields(pairs)
    if metrics:
        text += "\n\n" + table(["metric", "value"], sorted(metrics.items()))
    if deployments is None:
        text += "\n\ndeployments: unknown"
    elif not deployments:
        text += "\n\ndeployments: never deployed to a managed endpoint"
    else:
        rows = [
            [
                d["endpoint_id"],
                e.get("at"),
                e.get("status"),
                e.get("version"),
                e.get("serving_version"),
                e.get("reason"),
            ]
            for d in deployments
            for e in d["entries"]
        ]
        live = [d["endpoint_id"] for d in deployments if d["live"]]
        text += "\n\n" + ("live on: " + ", ".join(live) + "\n" if live else "")
        text += table(["endpoint", "at", "status", "version", "serving", "reason"], rows)
    return Result(data, text)


def _s3_source(container: dict[str, Any]) -> str | None:
    source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
    return source.get("S3Uri")


# compare ------------------------------------------------------------------------------------------
def run_compare(ctx: Context, args: argparse.Namespace) -> Result:
    if args.v1 == args.v2:
        raise CliError(
            f"compare needs two different versions (got {args.v1} twice)",
            EXIT_USAGE,
            hint=f"e.g. `mlops compare {args.group} {args.v1 - 1 or 1} {max(args.v1, 2)}` "
            "(see `mlops versions` for the versions)",
        )
    group = ctx.registry.group(args.group)
    packages = [
        ctx.registry.describe(args.group, v, group["ModelPackageGroupArn"]) for v in (args.v1, args.v2)
    ]
    (m1, p1), (m2, p2) = (read_metrics(ctx.s3, statistics_uri(p)) for p in packages)
    names = list(m1) + [n for n in m2 if n not in m1]
    metrics = []
    for name in names:
        a, b = m1.get(name), m2.get(name)
        delta = b - a if a is not None and b is not None else None
        change = delta / abs(a) * 100 if delta is not None and a else None
        metrics.append({"metric": name, "v1": a, "v2": b, "delta": delta, "change_percent": change})
    data = {
        "group": args.group,
        "v1": args.v1,
        "v2": args.v2,
        "status": {
            str(args.v1): packages[0].get("ModelApprovalStatus"),
            str(args.v2): packages[1].get("ModelApprovalStatus"),
        },
        "metrics": metrics,
        "problems": [p for p in (p1, p2) if p],
    }
    rows = [
        [
            m["metric"],
            m["v1"],
            m["v2"],
            None if m["delta"] is None else f"{m['delta']:+.4g}",
            None if m["change_percent"] is None else f"{m['change_percent']:+.1f}%",
        ]
        for m in metrics
    ]
    headers = ["metric", f"v{args.v1}", f"v{args.v2}", "delta", "change"]
    text = table(headers, rows) if metrics else f"no metrics reported for v{args.v1} or v{args.v2}"
    for problem in data["problems"]:
        text += f"\nnote: {problem}"
    return Result(data, text)
