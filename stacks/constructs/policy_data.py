"""IAM documents as plain data, for constructs repeated per team (hundreds of times per stack).

Every CDK call from Python is a round trip to the jsii runtime (about 1 ms here): building a role's
policy with one `PolicyStatement` and one `add_to_policy` per statement, and one `format_arn` per ARN,
made the team stacks most of the synth time at 1,000 teams (`make bench`). Here the statements and ARNs
are Python dicts and strings, and the document reaches CDK in one call, as the same `AWS::IAM::Policy`
resource (same construct path, so the same logical id) that `Role.add_to_policy` makes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

LOGICAL_ID_POLICY_NAME_CHARS = 128  # IAM's limit for a policy name; CDK keeps the id's last 128 characters


@dataclass(frozen=True)
class ArnParts:
    """A stack's partition, region and account (tokens or literals), read once."""

    partition: str
    region: str
    account: str

    @classmethod
    def of(cls, stack: Stack) -> ArnParts:
        return cls(partition=stack.partition, region=stack.region, account=stack.account)

    def arn(self, service: str, resource: str, name: str) -> str:
        """``arn:<partition>:<service>:<region>:<account>:<resource>/<name>`` (as ``Stack.format_arn``)."""
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}/{name}"

    def role_arn(self, account: str, name: str) -> str:
        return f"arn:{self.partition}:iam::{account}:role/{name}"

    def account_root(self, account: str) -> str:
        """The ARN ``iam.AccountPrincipal`` renders: the account's root."""
        return f"arn:{self.partition}:iam::{account}:root"


def logical_id(path: Sequence[str]) -> str:
    """The logical id CDK gives the element at construct ``path`` (ids below the stack), computed here to
    save a jsii round trip per element. CDK's rule (aws-cdk-lib core/lib/private/uniqueid): drop "Default"
    ids; one component is the id itself (alphanumerics only); otherwise the ids without consecutive
    duplicates and without "Resource", alphanumerics only, at most 240 characters, then the first 8 hex
    digits (upper case) of the MD5 of the whole path. tests/unit/stacks/test_policy_data.py checks it
    against CDK's own."""
    components = [c for c in path if c != "Default"]
    if len(components) == 1 and len(alphanumeric := re.sub("[^A-Za-z0-9]", "", components[0])) <= 255:
        return alphanumeric
    digest = hashlib.md5("/".join(components).encode(), usedforsecurity=False).hexdigest()[:8].upper()
    kept: list[str] = []
    for component in components:
        if not kept or not kept[-1].endswith(component):
            kept.append(component)
    human = "".join(re.sub("[^A-Za-z0-9]", "", c) for c in kept if c != "Resource")[:240]
    return human + digest


def statement(
    sid: str, actions: Sequence[str], resources: Sequence[str], conditions: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An Allow statement, written as CDK renders one: actions sorted, single values unwrapped."""
    acts = sorted(set(actions))
    found: dict[str, Any] = {
        "Action": acts if len(acts) > 1 else acts[0],
        "Effect": "Allow",
        "Resource": list(resources) if len(resources) > 1 else resources[0],
        "Sid": sid,
    }
    if conditions:
        found["Condition"] = conditions
    return found


@dataclass(frozen=True)
class PlainRole:
    """A role made of L1 resources where ``iam.Role`` puts them (``<id>/Resource``, its identity policy at
    ``<id>/DefaultPolicy/Resource``): the same logical ids and properties with four jsii calls instead of
    the L2's dozen (principal objects, role, name and policy-name look-ups)."""

    scope: Construct
    role: iam.CfnRole

    @classmethod
    def create(
        cls,
        scope: Construct,
        construct_id: str,
        *,
        path: Sequence[str],
        role_name: str,
        description: str,
        trust: dict[str, Any],
        statements: Sequence[dict[str, Any]],
    ) -> PlainRole:
        """``path``: construct ids from below the stack down to ``scope`` (for the policy's logical id,
        which CDK also uses as the policy name); ``trust``: one assume-role statement as ``iam.Role``
        renders it."""
        role_scope = Construct(scope, construct_id)
        role = iam.CfnRole(
            role_scope,
            "Resource",
            assume_role_policy_document={"Statement": [trust], "Version": "2012-10-17"},
            description=description,
            role_name=role_name,
        )
        policy_path = [*path, construct_id, "DefaultPolicy", "Resource"]
        iam.CfnPolicy(
            Construct(role_scope, "DefaultPolicy"),
            "Resource",
            policy_document={"Version": "2012-10-17", "Statement": list(statements)},
            roles=[role.ref],
            policy_name=logical_id(policy_path)[-LOGICAL_ID_POLICY_NAME_CHARS:],
        )
        return cls(scope=role_scope, role=role)


def trust_statement(principal_arn: str, conditions: dict[str, Any]) -> dict[str, Any]:
    """An ``sts:AssumeRole`` statement for one principal, as ``iam.Role(assumed_by=...)`` renders it."""
    found: dict[str, Any] = {"Action": "sts:AssumeRole"}
    if conditions:
        found["Condition"] = conditions
    return {**found, "Effect": "Allow", "Principal": {"AWS": principal_arn}}


def attach_default_policy(
    stack: Stack, role: iam.Role, statements: Sequence[dict[str, Any]]
) -> iam.CfnPolicy:
    """The role's identity policy from plain statements: the `AWS::IAM::Policy` at `<role>/DefaultPolicy`,
    where `Role.add_to_policy` puts it (same logical id and policy name)."""
    scope = Construct(role, "DefaultPolicy")
    policy = iam.CfnPolicy(
        scope,
        "Resource",
        policy_document={"Version": "2012-10-17", "Statement": list(statements)},
        roles=[role.role_name],
        policy_name="DefaultPolicy",  # replaced below by the logical id, as CDK names a default policy
    )
    policy.policy_name = stack.get_logical_id(policy)[-LOGICAL_ID_POLICY_NAME_CHARS:]
    return policy
