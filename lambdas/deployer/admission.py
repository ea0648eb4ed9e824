"""Admission: what a version would run, checked before the deployer deploys it (issue 9, finding 6).

IAM decides who may register and approve; it cannot look inside a version. An approved version may
still name an image from any registry or model data anywhere. Here the version's
``InferenceSpecification`` (from DescribeModelPackage) is checked against the deployment's rules;
the first violation is returned as a reason that names the field and the value, and the service
records it as a ``failed`` ledger item (with its notification) instead of deploying. Pure functions:
no AWS, no clock.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:<tag>][@sha256:<digest>]
# (https://docs.aws.amazon.com/AmazonECR/latest/userguide/docker-pull-ecr-image.html)
ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*)(:(?P<tag>[\w][\w.-]{0,127}))?(@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


@dataclass(frozen=True)
class AdmissionRules:
    """What a deployment admits. ``model_data_prefix`` is ``s3://<artifact bucket>/<owning team>/``."""

    allowed_image_accounts: frozenset[str]
    require_image_digest: bool = False
    model_data_prefix: str | None = None

    @classmethod
    def parse(cls, raw: Any, where: str) -> AdmissionRules:
        """From a DEPLOYMENTS entry's ``admission`` object; ValueError names the key and the value."""
        if not isinstance(raw, Mapping):
            raise ValueError(f"{where}: {raw!r}: expected an object")
        accounts = raw.get("allowed_image_accounts")
        if (
            not isinstance(accounts, list)
            or not accounts
            or not all(isinstance(a, str) and re.fullmatch(r"\d{12}", a) for a in accounts)
        ):
            raise ValueError(
                f"{where}.allowed_image_accounts: {accounts!r}: expected a list of 12-digit account ids"
            )
        digest = raw.get("require_image_digest", False)
        if not isinstance(digest, bool):
            raise ValueError(f"{where}.require_image_digest: {digest!r}: expected true or false")
        prefix = raw.get("model_data_prefix")
        if prefix is not None and (
            not isinstance(prefix, str) or not re.fullmatch(r"s3://[a-z0-9.-]+/\S+/", prefix)
        ):
            raise ValueError(f"{where}.model_data_prefix: {prefix!r}: expected s3://<bucket>/<prefix>/")
        return cls(frozenset(accounts), digest, prefix)


def _model_data_urls(container: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, S3 URI) of every place a container names model data."""
    found = []
    if isinstance(container.get("ModelDataUrl"), str):
        found.append(("ModelDataUrl", container["ModelDataUrl"]))
    source = container.get("ModelDataSource")
    if isinstance(source, Mapping) and isinstance(source.get("S3DataSource"), Mapping):
        uri = source["S3DataSource"].get("S3Uri")
        if isinstance(uri, str):
            found.append(("ModelDataSource.S3DataSource.S3Uri", uri))
    return found


def refusal(specification: Mapping[str, Any] | None, rules: AdmissionRules) -> str | None:
    """None when every container of the inference specification is admitted, else the first reason."""
    containers = (specification or {}).get("Containers")
    if not isinstance(containers, list) or not containers:
        return "InferenceSpecification.Containers is missing or empty"
    for index, container in enumerate(containers):
        field = f"InferenceSpecification.Containers[{index}]"
        if not isinstance(container, Mapping):
            return f"{field} is not an object"
        image = container.get("Image")
        match = ECR_IMAGE.match(image) if isinstance(image, str) else None
        if match is None:
            return f"{field}.Image {image!r} is not an Amazon ECR image URI"
        if match["account"] not in rules.allowed_image_accounts:
            return (
                f"{field}.Image {image!r} is in account {match['account']}, not one of the allowed image "
                f"accounts ({', '.join(sorted(rules.allowed_image_accounts))}; registry.allowed_image_accounts)"
            )
        if rules.require_image_digest and not match["digest"]:
            return f"{field}.Image {image!r} is not pinned by digest (@sha256:...; registry.require_image_digest)"
        if rules.model_data_prefix:
            for name, uri in _model_data_urls(container):
                if not uri.startswith(rules.model_data_prefix):
                    return (
                        f"{field}.{name} {uri!r} is outside the owning team's artifact prefix "
                        f"{rules.model_data_prefix}"
                    )
    return None


# --- what was approved (issue 9, finding 6) ----------------------------------------------------------
#
# UpdateModelPackage accepts InferenceSpecification and AdditionalInferenceSpecificationsToAdd at any
# approval status (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateModelPackage.html
# documents no restriction), so an approver can rewrite what an approved version runs after approving
# it. The deployer pins the specification a version had when it was first approved (the
# approval event's own copy; DescribeModelPackage when the event has none) in the ledger table, under a
# partition no approver may write (their PutItem is limited by dynamodb:LeadingKeys to their endpoints),
# first write wins. A version whose specification differs from its pin is refused.

MAX_CHANGES_NAMED = 3


def canonical_spec(specification: Mapping[str, Any] | None) -> str:
    """The specification as canonical JSON (sorted keys, no spaces): what the pin stores and compares."""
    return json.dumps(specification or {}, sort_keys=True, separators=(",", ":"), default=str)


def fingerprint(canonical: str) -> str:
    """sha256 of the canonical JSON, for humans and the ledger item (the comparison uses the JSON)."""
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _changes(approved: Any, current: Any, path: str) -> list[str]:
    if isinstance(approved, Mapping) and isinstance(current, Mapping):
        found: list[str] = []
        for key in sorted(set(approved) | set(current), key=str):
            found += _changes(approved.get(key), current.get(key), f"{path}.{key}")
        return found
    if isinstance(approved, list) and isinstance(current, list) and len(approved) == len(current):
        found = []
        for index, (old, new) in enumerate(zip(approved, current, strict=True)):
            found += _changes(old, new, f"{path}[{index}]")
        return found
    return [] if approved == current else [f"{path} (approved {approved!r}, now {current!r})"]


def changed_since_approval(approved_canonical: str, specification: Mapping[str, Any] | None) -> str | None:
    """None when the version still runs what was approved, else a reason naming the changed fields."""
    if canonical_spec(specification) == approved_canonical:
        return None
    changes = _changes(
        json.loads(approved_canonical), json.loads(canonical_spec(specification)), "InferenceSpecification"
    )
    named = "; ".join(changes[:MAX_CHANGES_NAMED]) or "InferenceSpecification"
    more = f"; and {len(changes) - MAX_CHANGES_NAMED} more" if len(changes) > MAX_CHANGES_NAMED else ""
    return (
        f"changed after approval: {named}{more}. A version's specification is pinned at its first "
        "approval; register a new version to change what runs"
    )
