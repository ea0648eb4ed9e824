"""Bucket policies on object requests, evaluated with the project's policy evaluator.

moto checks a bucket's policy on object requests (``FakeBucket.get_permission``) without any
condition values and treats a statement whose condition does not match as an explicit deny, so the
TLS-only statement every CDK bucket carries (``Deny s3:*`` when ``aws:SecureTransport`` is
``false``) denied every object request once CloudFormation applied bucket policies. Here the policy
is evaluated by :mod:`local.emulator.policy`: a statement applies only when its conditions match,
with ``aws:SecureTransport`` = ``true`` (the emulator speaks plain HTTP on localhost, its stand-in
for TLS). The principal is not known at this point of moto's flow, so statements apply whatever
their ``Principal`` (identity policies are still enforced separately when auth is on).
"""

from __future__ import annotations

from typing import Any

from moto.iam.access_control import PermissionResult
from moto.s3.models import FakeBucket

from . import policy

CONTEXT = {"aws:SecureTransport": ["true"]}

_RESULT = {
    policy.Decision.ALLOW: PermissionResult.PERMITTED,
    policy.Decision.DENY: PermissionResult.DENIED,
    policy.Decision.NEUTRAL: PermissionResult.NEUTRAL,
}


def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
    if self.policy is None:
        return PermissionResult.NEUTRAL
    return _RESULT[policy.evaluate([self.policy.decode()], action, resource, CONTEXT)]


def install() -> None:
    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
