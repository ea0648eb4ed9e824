"""IAM documents as plain data, for constructs repeated per team (hundreds of times per stack).

Every CDK call from Python is a round trip to the jsii runtime (about 1 ms here): building a role's
policy with one `PolicyStatement` and one `add_to_policy` per statement, and one `format_arn` per ARN,
made the team stacks most of the synth time at 1,000 teams (`make bench`). Here the statements and ARNs
are Python dicts and strings, and the document reaches CDK in one call, as the same `AWS::IAM::Policy`
resource (same construct path, so the same logical id) that `Role.add_to_policy` makes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct


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
    policy.policy_name = stack.get_logical_id(policy)[-128:]
    return policy
