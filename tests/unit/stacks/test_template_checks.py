"""Checks every synthesized template must pass: real IAM actions, justified '*', cdk-nag, cfn-lint."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks
from policy_sentry.querying.actions import (
    get_actions_for_service,
    get_actions_that_support_wildcard_arns_only,
)

from tests.unit.stacks.policy_helpers import actions_of, as_list, iam_documents
from tests.unit.stacks.synth import Synthesized, collect, example


@pytest.fixture(scope="module")
def synth() -> Synthesized:
    return example()


@cache
def known_actions(service: str) -> frozenset[str]:
    return frozenset(a.lower() for a in get_actions_for_service(service))


@cache
def wildcard_only_actions(service: str) -> frozenset[str]:
    return frozenset(a.lower() for a in get_actions_that_support_wildcard_arns_only(service))


def test_every_iam_action_exists_in_aws(synth: Synthesized) -> None:
    unknown = []
    checked = 0
    for _, where, document in iam_documents(synth.templates):
        for statement in as_list(document["Statement"]):
            for action in actions_of(statement) + sorted(as_list(statement.get("NotAction", []))):
                service, _, name = action.partition(":")
                checked += 1
                if "*" in name:
                    matches = [a for a in known_actions(service) if a.startswith(action.rstrip("*").lower())]
                    if not matches:
                        unknown.append((where, action))
                elif action.lower() not in known_actions(service):
                    unknown.append((where, action))
    assert checked > 20
    assert unknown == []


def test_the_action_check_catches_a_typo() -> None:
    assert "sagemaker:createmodelpackage" in known_actions("sagemaker")
    assert "sagemaker:approvemodelpackage" not in known_actions("sagemaker")


def test_every_star_resource_is_one_aws_requires(synth: Synthesized) -> None:
    """Identity policies may use Resource '*' only for actions without resource-level permissions.

    Resource policies are exempt only where '*' means the resource itself (KMS key policies)."""
    offenders = []
    for _, where, document in iam_documents(synth.templates):
        if where.endswith("#keypolicy"):
            continue
        for statement in as_list(document["Statement"]):
            if statement["Effect"] != "Allow" or "*" not in as_list(statement.get("Resource", [])):
                continue
            for action in actions_of(statement):
                service = action.split(":")[0]
                if action.lower() not in wildcard_only_actions(service):
                    offenders.append((where, action))
    assert offenders == []


def test_cdk_nag_has_no_unacknowledged_findings(synth: Synthesized) -> None:
    findings = [
        (stack, path, text)
        for stack, messages in synth.messages.items()
        for level, path, text in messages
        if level in ("error", "warning") and "AwsSolutions-" in text
    ]
    assert findings == []


def test_cdk_nag_findings_would_be_caught() -> None:
    """The capture used above sees a real finding: a bucket without TLS enforcement or access logs."""
    app = cdk.App()
    stack = cdk.Stack(app, "Bad", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    s3.Bucket(stack, "Plain")
    cdk.Aspects.of(app).add(AwsSolutionsChecks())
    bad = collect(app, None, None)
    texts = " ".join(text for _, _, text in bad.messages["Bad"])
    assert "AwsSolutions-S10" in texts and "AwsSolutions-S1" in texts


def test_cdk_nag_runs_and_reports_acknowledged_findings(synth: Synthesized) -> None:
    """The suppressions are specific: nag still evaluated the wildcard findings and recorded each reason."""
    metadata = synth.templates["MlopsRegistryTeams0"]["Resources"]
    reasons = [
        s["reason"]
        for r in metadata.values()
        for s in r.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert any("ListModelPackageGroups supports no resource-level permissions" in r for r in reasons)


def test_cfn_lint_reports_no_errors_or_warnings(synth: Synthesized) -> None:
    paths = [str(p) for p in synth.template_paths.values()]
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--format", "parseable", "--", *paths],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip() == "" and result.returncode == 0, result.stdout + result.stderr
