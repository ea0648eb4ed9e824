"""What each page shows, as plain data (the page's JSON twin), built on the CLI's data layer.

Every function takes the CLI's `Context` (its registry, ledger, catalog and S3 clients) and returns a
JSON-able dict; the templates only render it. Nothing here writes to AWS.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from mlops_cli.cmd_catalog import run_compare, run_show, who
from mlops_cli.context import Context
from mlops_cli.deployments import Deployment, resolve_endpoint
from mlops_cli.endpoints import read_endpoint
from mlops_cli.errors import EXIT_NOT_FOUND, CliError, translated
from mlops_cli.ledger import endpoint_id, format_at, parse_time
from mlops_cli.metrics import read_metrics, statistics_uri
from mlops_cli.registry import APPROVED, TEAM_TAG, Version, reader_needs

T = TypeVar("T")
PAGE_SIZE = 25  # groups, versions and ledger entries per page
CACHE_SECONDS = 30.0  # group lists, tags and the catalog change rarely; versions are always read afresh


class Cache:
    """A small time-limited cache shared by the server's threads. A value older than `seconds` is still
    served while one background thread reads it again (stale-while-revalidate), so no page waits for a
    refresh of the group list; only the very first read waits (`mlops ui` makes it before `ready`)."""

    def __init__(self, seconds: float = CACHE_SECONDS) -> None:
        self.seconds = seconds
        self._items: dict[str, tuple[float, Any]] = {}
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()

    def get(self, key: str, make: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            found = self._items.get(key)
            if found and now - found[0] < self.seconds:
                return found[1]  # type: ignore[no-any-return]
            stale = found is not None and self.seconds > 0
            start = stale and key not in self._refreshing
            if start:
                self._refreshing.add(key)
        if found is not None and stale:
            if start:
                threading.Thread(target=self._refresh, args=(key, make), daemon=True).start()
            return found[1]  # type: ignore[no-any-return]
        value = make()
        with self._lock:
            self._items[key] = (time.monotonic(), value)
        return value

    def _refresh(self, key: str, make: Callable[[], Any]) -> None:
        try:
            value = make()
            with self._lock:
                self._items[key] = (time.monotonic(), value)
        except Exception:  # noqa: BLE001 - keep serving the old value; the next page tries again
            pass
        finally:
            with self._lock:
                self._refreshing.discard(key)


def page_of(items: list[T], page: int, size: int = PAGE_SIZE) -> tuple[list[T], dict[str, int]]:
    pages = max(1, -(-len(items) // size))
    page = min(max(1, page), pages)
    return items[(page - 1) * size : page * size], {"page": page, "pages": pages, "total": len(items)}


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _version_dict(version: Version | None) -> dict[str, Any] | None:
    if version is None:
        return None
    return {
        "version": version.version,
        "approval": version.approval,
        "stage": version.stage,
        "stage_status": version.stage_status,
        "created_at": _iso(version.created_at),
    }


RENEW_SECONDS = 45 * 60  # assumed-role credentials (--role-arn) last an hour


class Pages:
    def __init__(
        self, ctx: Context, cache: Cache | None = None, *, renew: Callable[[], Context] | None = None
    ) -> None:
        self._ctx = ctx
        self._since = time.monotonic()
        self._renew = renew
        self.cache = cache or Cache()

    @property
    def ctx(self) -> Context:
        """The CLI context; a long-running UI makes a new one (new sessions, a fresh role) every 45 min."""
        if self._renew is not None and time.monotonic() - self._since > RENEW_SECONDS:
            self._ctx, self._since = self._renew(), time.monotonic()
        return self._ctx

    # shared, cached ---------------------------------------------------------------------------
    def groups_with_tags(self) -> list[tuple[dict[str, Any], dict[str, str]]]:
        def load() -> list[tuple[dict[str, Any], dict[str, str]]]:
            groups = self.ctx.registry.groups()
            tags = self.ctx.parallel(lambda g: self.ctx.registry.tags(g["ModelPackageGroupArn"]), groups)
            return list(zip(groups, tags, strict=True))

        return self.cache.get("groups", load)

    def deployments(self) -> tuple[list[Deployment] | None, str | None]:
        """(managed endpoints, problem): the catalog, or None and why it cannot be read."""

        def load() -> tuple[list[Deployment] | None, str | None]:
            try:
                return list(self.ctx.catalog().deployments), None
            except CliError as exc:
                return None, exc.message + (f" ({exc.hint})" if exc.hint else "")

        return self.cache.get("catalog", load)

    def _followers(self, group: str) -> list[dict[str, Any]] | None:
        deployments, _ = self.deployments()
        if deployments is None:
            return None
        return [
            {
                "endpoint": d.endpoint,
                "endpoint_id": d.endpoint_id,
                "account": d.account,
                "region": d.region,
                "follows": d.follows,
            }
            for d in deployments
            if d.group == group
        ]

    def preload(self) -> None:
        """Read the group list, its tags and the catalog once (before the UI says `ready`)."""
        self.groups_with_tags()
        self.deployments()

    # registry ---------------------------------------------------------------------------------
    def registry(self, *, q: str = "", team: str = "", page: int = 1) -> dict[str, Any]:
        needle = q.strip().lower()
        selected = []
        for group, tags in self.groups_with_tags():
            owner = tags.get(TEAM_TAG)
            if team and owner != team:
                continue
            haystack = " ".join(
                [
                    group["ModelPackageGroupName"],
                    group.get("ModelPackageGroupDescription") or "",
                    *(f"{k}={v}" for k, v in tags.items()),
                ]
            ).lower()
            if needle and needle not in haystack:
                continue
            selected.append((group, tags))
        shown, pagination = page_of(selected, page)
        registry = self.ctx.registry

        def newest(item: tuple[dict[str, Any], dict[str, str]]) -> tuple[Version | None, Version | None]:
            name = item[0]["ModelPackageGroupName"]
            return registry.newest(name), registry.newest(name, APPROVED)

        details = self.ctx.parallel(newest, shown)
        deployments, problem = self.deployments()
        groups = [
            {
                "group": group["ModelPackageGroupName"],
                "description": group.get("ModelPackageGroupDescription"),
                "team": tags.get(TEAM_TAG),
                "tags": tags,
                "newest": _version_dict(latest),
                "newest_approved": approved.version if approved else None,
                "endpoints": self._followers(group["ModelPackageGroupName"]),
            }
            for (group, tags), (latest, approved) in zip(shown, details, strict=True)
        ]
        teams = sorted({t[TEAM_TAG] for _, t in self.groups_with_tags() if t.get(TEAM_TAG)})
        return {
            "q": q,
            "team": team or None,
            "teams": teams,
            "groups": groups,
            "pagination": pagination,
            "endpoints": None
            if deployments is None
            else [
                {"endpoint": d.endpoint, "endpoint_id": d.endpoint_id, "group": d.group, "follows": d.follows}
                for d in deployments
            ],
            "endpoints_problem": problem,
        }

    # group ------------------------------------------------------------------------------------
    def group(
        self,
        name: str,
        *,
        page: int = 1,
        metric: str = "",
        compare: tuple[int, int] | None = None,
    ) -> dict[str, Any]:
        registry = self.ctx.registry
        described = registry.group(name)  # unknown group: CliError EXIT_NOT_FOUND with close matches
        versions = registry.versions(name)
        shown, pagination = page_of(versions, page)

        def detail(version: Version) -> dict[str, Any]:
            with translated(needs=reader_needs()):
                package = registry.sm.describe_model_package(ModelPackageName=version.arn)
            metrics, problem = read_metrics(self.ctx.s3, statistics_uri(package))
            life = package.get("ModelLifeCycle") or {}
            return {
                "version": version.version,
                "arn": version.arn,
                "status": package.get("ModelApprovalStatus") or version.approval,
                "stage": life.get("Stage") or version.stage,
                "stage_status": life.get("StageStatus") or version.stage_status,
                "created_at": _iso(package.get("CreationTime") or version.created_at),
                "created_by": who(package.get("CreatedBy")),
                "approved_by": who(package.get("LastModifiedBy"))
                if package.get("ModelApprovalStatus") == APPROVED
                else None,
                "approval_description": package.get("ApprovalDescription"),
                "metrics": metrics,
                "metrics_problem": problem,
            }

        rows = self.ctx.parallel(detail, shown)
        names: list[str] = []
        for row in rows:
            names.extend(n for n in row["metrics"] if n not in names)
        chosen = metric if metric in names else (names[0] if names else None)
        chart = [
            {"version": r["version"], "value": r["metrics"][chosen]}
            for r in sorted(rows, key=lambda r: r["version"])
            if chosen and chosen in r["metrics"]
        ]
        comparison = None
        if compare:
            a, b = compare
            args = argparse.Namespace(group=name, v1=a, v2=b)
            comparison = run_compare(self.ctx, args).data
        return {
            "group": name,
            "arn": described.get("ModelPackageGroupArn"),
            "description": described.get("ModelPackageGroupDescription"),
            "team": dict(self.groups_with_tag_of(described)).get(TEAM_TAG),
            "versions": rows,
            "pagination": pagination,
            "metric_names": names,
            "chart": {"metric": chosen, "points": chart},
            "compare": comparison,
            "all_versions": [v.version for v in versions],
            "endpoints": self._followers(name),
        }

    def groups_with_tag_of(self, group: dict[str, Any]) -> dict[str, str]:
        for known, tags in self.groups_with_tags():
            if known["ModelPackageGroupArn"] == group.get("ModelPackageGroupArn"):
                return tags
        return self.ctx.registry.tags(group["ModelPackageGroupArn"])

    # version ----------------------------------------------------------------------------------
    def version(self, group: str, number: int) -> dict[str, Any]:
        data: dict[str, Any] = run_show(self.ctx, argparse.Namespace(group=group, version=number)).data
        data = {k: _iso(v) for k, v in data.items()}
        history = [
            {
                "at": data["created_at"],
                "what": "registered",
                "by": data["created_by"],
                "note": data["description"],
            }
        ]
        if data["status"] and data["status"] != "PendingManualApproval":
            history.append(
                {
                    "at": data["last_modified_at"],
                    "what": f"set to {data['status']}",
                    "by": data["last_modified_by"],
                    "note": data["approval_description"],
                }
            )
        if data["stage"]:
            history.append(
                {
                    "at": data["last_modified_at"],
                    "what": f"stage {data['stage']}/{data['stage_status']}",
                    "by": data["last_modified_by"],
                    "note": data["stage_description"],
                }
            )
        registry_events = len(history)
        served = []
        for deployment in data["deployments"] or []:
            seen: set[tuple[Any, Any]] = set()
            for entry in sorted(deployment["entries"], key=lambda e: str(e.get("at"))):
                # the approval this version was deployed under, once per endpoint and approval
                approval = (entry.get("approved_by"), entry.get("approval_description"))
                if entry.get("version") != number or not any(approval) or approval in seen:
                    continue
                seen.add(approval)
                history.append(
                    {
                        "at": entry.get("at"),
                        "what": f"approval recorded by the deployment to {deployment['endpoint_id']}",
                        "by": approval[0],
                        "note": approval[1],
                    }
                )
            served.append(
                {
                    "endpoint_id": deployment["endpoint_id"],
                    "live": deployment["live"],
                    "periods": serving_periods(deployment["entries"], number),
                    "entries": sorted(deployment["entries"], key=lambda e: str(e.get("at"))),
                }
            )
        # the registry's own record first (in the order it happens), then approvals the ledger kept
        data["history"] = history[:registry_events] + sorted(
            history[registry_events:], key=lambda h: str(h["at"] or "")
        )
        data["served"] = served
        return data

    # endpoint ---------------------------------------------------------------------------------
    def endpoint(
        self, account: str, region: str, name: str, *, at: str = "", page: int = 1
    ) -> dict[str, Any]:
        deployments, problem = self.deployments()
        if deployments is None:
            raise CliError(f"the managed endpoints are unknown: {problem}", EXIT_NOT_FOUND)
        deployment = resolve_endpoint(deployments, endpoint_id(account, region, name))
        state = read_endpoint(self.ctx.aws, deployment)
        ledger = self.ctx.ledger
        timeline = ledger.timeline(deployment.endpoint_id, newest_first=True)
        shown, pagination = page_of(timeline, page)
        answer = None
        if at:
            moment = parse_time(at)
            entry = ledger.at(deployment.endpoint_id, moment)
            answer = {
                "at": format_at(moment),
                "serving_version": entry.get("serving_version") if entry else None,
                "entry": entry,
            }
        return {
            "endpoint": deployment.endpoint,
            "endpoint_id": deployment.endpoint_id,
            "account": deployment.account,
            "region": deployment.region,
            "group": deployment.group,
            "follows": deployment.follows,
            "instance_type": deployment.instance_type,
            "instance_count": deployment.instance_count,
            "rollout": deployment.rollout,
            "rollout_text": deployment.rollout_text(),
            "alarms": list(deployment.alarms),
            "state": {**state.as_dict(), "last_modified": _iso(state.last_modified)},
            "timeline": shown,
            "pagination": pagination,
            "question": answer,
        }


def serving_periods(entries: list[dict[str, Any]], version: int) -> list[dict[str, Any]]:
    """When the endpoint served `version`: from the first entry whose serving_version is it to the next
    entry whose serving_version is another (None = still serving)."""
    periods: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for entry in sorted(entries, key=lambda e: str(e.get("at"))):
        serving = entry.get("serving_version")
        if serving is None:
            continue
        if serving == version and current is None:
            current = {"from": entry.get("at"), "until": None}
            periods.append(current)
        elif serving != version and current is not None:
            current["until"] = entry.get("at")
            current = None
    return periods
