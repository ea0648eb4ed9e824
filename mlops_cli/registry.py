"""Model registry queries and updates (SageMaker model package groups and versions).

Every list call paginates, and version listings always pass SortBy=CreationTime/SortOrder=Descending
(ListModelPackages sorts ascending by default).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlops_cli.errors import EXIT_NOT_FOUND, CliError, is_not_found, translated

TEAM_TAG = "mlops:team"
APPROVED = "Approved"
REJECTED = "Rejected"
APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")
DEFAULT_STAGE_STATUS = "Approved"
DEPLOYABLE_PACKAGE_STATUSES = frozenset({"Completed"})
# Where `mlops rollback` moves versions taken out of a followed stage (with stage status Rejected).
ROLLED_BACK_STAGE = "Archived"


def approver_role(team: str | None) -> str:
    return f"the team approver role mlops-{team or '<team>'}-approver (assume it with --role-arn)"


def reader_needs() -> str:
    return (
        "sagemaker:List*/Describe* on the model package groups (e.g. your team's publisher or approver role)"
    )


def matches_follows(
    *,
    approval: str | None,
    stage: str | None,
    follows: str,
    package_status: str | None = None,
    stage_status: str | None = APPROVED,
) -> bool:
    """Whether a version is a candidate for an endpoint that follows `follows`.

    Mirrors the deployer's rule (lambdas/deployer/controller.py `matches`; not imported, the CLI does
    not depend on the Lambda code): the package must be deployable (status Completed, when known) and
    Approved; `Approved` needs nothing more; any other value names a lifecycle stage, matched only
    with StageStatus `Approved`.
    """
    if package_status is not None and package_status not in DEPLOYABLE_PACKAGE_STATUSES:
        return False
    if approval != APPROVED:
        return False
    if follows == APPROVED:
        return True
    return stage == follows and stage_status == APPROVED


def version_from_arn(arn: str | None) -> int | None:
    if not arn:
        return None
    tail = arn.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


@dataclass(frozen=True)
class Version:
    group: str
    version: int
    arn: str
    approval: str | None
    stage: str | None
    stage_status: str | None
    created_at: datetime | None
    package_status: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Version:
        life = data.get("ModelLifeCycle") or {}
        arn = str(data["ModelPackageArn"])
        number = data.get("ModelPackageVersion") or version_from_arn(arn) or 0
        return cls(
            group=str(data.get("ModelPackageGroupName") or ""),
            version=int(number),
            arn=arn,
            approval=data.get("ModelApprovalStatus"),
            stage=life.get("Stage"),
            stage_status=life.get("StageStatus"),
            created_at=data.get("CreationTime"),
            package_status=data.get("ModelPackageStatus"),
        )

    def matches(self, follows: str) -> bool:
        return matches_follows(
            approval=self.approval,
            stage=self.stage,
            follows=follows,
            package_status=self.package_status,
            stage_status=self.stage_status,
        )

    @property
    def stage_text(self) -> str | None:
        if not self.stage:
            return None
        return f"{self.stage}/{self.stage_status}" if self.stage_status else self.stage


class Registry:
    def __init__(self, sagemaker: Any) -> None:
        self.sm = sagemaker

    # groups -----------------------------------------------------------------------------------
    def groups(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = []
        with translated(needs=reader_needs()):
            paginator = self.sm.get_paginator("list_model_package_groups")
            for page in paginator.paginate(SortBy="Name", SortOrder="Ascending"):
                result.extend(page.get("ModelPackageGroupSummaryList", []))
        return result

    def group(self, name: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        with translated(needs=reader_needs()):
            try:
                return dict(self.sm.describe_model_package_group(ModelPackageGroupName=name))
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
        names = [g["ModelPackageGroupName"] for g in self.groups()]
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f"did you mean: {', '.join(close)}?" if close else "list the groups with `mlops groups`"
        raise CliError(f"model package group {name!r} does not exist", EXIT_NOT_FOUND, hint=hint)

    def tags(self, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        with translated(needs=reader_needs()):
            for page in self.sm.get_paginator("list_tags").paginate(ResourceArn=arn):
                tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
        return tags

    def team(self, group_arn: str) -> str | None:
        return self.tags(group_arn).get(TEAM_TAG)

    # versions ---------------------------------------------------------------------------------
    def iter_versions(self, group: str, status: str | None = None) -> Iterator[Version]:
        """Newest first, across all pages."""
        kwargs: dict[str, Any] = {
            "ModelPackageGroupName": group,
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
        }
        if status:
            kwargs["ModelApprovalStatus"] = status
        with translated(needs=reader_needs()):
            for page in self.sm.get_paginator("list_model_packages").paginate(**kwargs):
                for summary in page.get("ModelPackageSummaryList", []):
                    yield Version.from_api(summary)

    def versions(self, group: str, status: str | None = None) -> list[Version]:
        # sorted by version number too: CreationTime may tie within a millisecond
        return sorted(self.iter_versions(group, status), key=lambda v: v.version, reverse=True)

    def newest(self, group: str, status: str | None = None) -> Version | None:
        kwargs: dict[str, Any] = {
            "ModelPackageGroupName": group,
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 1,
        }
        if status:
            kwargs["ModelApprovalStatus"] = status
        with translated(needs=reader_needs()):
            summaries = self.sm.list_model_packages(**kwargs).get("ModelPackageSummaryList", [])
        return Version.from_api(summaries[0]) if summaries else None

    def newest_matching(self, group: str, follows: str) -> Version | None:
        if follows == APPROVED:
            return self.newest(group, APPROVED)
        for version in self.iter_versions(group):
            if version.matches(follows):
                return version
        return None

    @staticmethod
    def package_arn(group_arn: str, version: int) -> str:
        """arn:...:model-package-group/<group> -> arn:...:model-package/<group>/<version>."""
        return group_arn.replace(":model-package-group/", ":model-package/", 1) + f"/{version}"

    def describe(self, group: str, version: int, group_arn: str | None = None) -> dict[str, Any]:
        """Describe one version by ARN (versioned packages cannot be described by name)."""
        from botocore.exceptions import ClientError

        arn = self.package_arn(group_arn or self.group(group)["ModelPackageGroupArn"], version)
        with translated(needs=reader_needs()):
            try:
                return dict(self.sm.describe_model_package(ModelPackageName=arn))
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
        newest = self.newest(group)
        hint = (
            f"the newest version of {group} is {newest.version}" if newest else f"{group} has no versions yet"
        )
        raise CliError(f"version {version} of {group!r} does not exist", EXIT_NOT_FOUND, hint=hint)

    # updates ----------------------------------------------------------------------------------
    def update(self, arn: str, *, needs: str, **fields: Any) -> None:
        with translated(needs=needs):
            self.sm.update_model_package(ModelPackageArn=arn, **fields)

    def set_approval(self, arn: str, status: str, reason: str, *, needs: str) -> None:
        self.update(arn, needs=needs, ModelApprovalStatus=status, ApprovalDescription=reason)

    def set_stage(
        self, arn: str, stage: str, stage_status: str, description: str | None, *, needs: str
    ) -> None:
        life = {"Stage": stage, "StageStatus": stage_status}
        if description:
            life["StageDescription"] = description
        self.update(arn, needs=needs, ModelLifeCycle=life)
