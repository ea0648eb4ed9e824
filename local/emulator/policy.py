"""A small IAM policy evaluator: enough of the IAM policy language for this project's policies.

Supports Action/NotAction (case-insensitive wildcards), Resource/NotResource (wildcards), Principal
(for resource policies), and the condition operators String*, Arn*, Bool and Null, with the
``...IfExists`` suffix and ``ForAnyValue:``/``ForAllValues:`` prefixes; a key absent from the request
matches only ``...IfExists``, ``ForAllValues:``, ``Null`` true and the negated operators
(``StringNotEquals``, ``ArnNotLike``, ...), as IAM evaluates it. Explicit Deny wins; without
an Allow the request is implicitly denied. Not supported (treated as not matching): NotPrincipal,
numeric/date/IP operators, policy variables.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from enum import Enum
from typing import Any

from .principals import principal_arn


class Decision(Enum):
    ALLOW = "Allow"
    DENY = "Deny"
    NEUTRAL = "Neutral"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _wild(pattern: str, value: str, ignore_case: bool = False) -> bool:
    regex = "^" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern) + "$"
    return re.match(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _matches_any(patterns: Iterable[str], value: str, ignore_case: bool = False) -> bool:
    return any(_wild(p, value, ignore_case) for p in patterns)


def principal_matches(principal: Any, caller_arn: str, caller_account: str) -> bool:
    """Does a policy ``Principal`` name the caller (an IAM user/role ARN or an STS session ARN)?"""
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    role_arn = principal_arn(caller_arn)  # a role session is named by its role's ARN, path included
    for p in _as_list(principal.get("AWS")):
        if p in ("*", caller_account, caller_arn, role_arn):
            return True
        if re.match(rf"^arn:[^:]+:iam::{caller_account}:root$", p):
            return True
    return False


_OPERATOR = re.compile(r"^(?:(ForAnyValue|ForAllValues):)?([A-Za-z]+?)(IfExists)?$")


def _compare(op: str, expected: list[str], actual: list[str]) -> bool | None:
    """Result for one operator, or None when the operator is unsupported."""
    ignore_case = op.endswith("IgnoreCase")
    base = op.removesuffix("IgnoreCase")
    negated = "Not" in base
    base = base.replace("Not", "")
    if base == "StringEquals":
        hit = any((a.lower() == e.lower()) if ignore_case else (a == e) for a in actual for e in expected)
    elif base in ("StringLike", "ArnLike", "ArnEquals"):
        hit = any(_wild(e, a, ignore_case) for a in actual for e in expected)
    elif base == "Bool":
        hit = any(a.lower() == e.lower() for a in actual for e in expected)
    else:
        return None
    return not hit if negated else hit


def conditions_match(conditions: dict[str, Any] | None, context: dict[str, list[str]]) -> bool:
    if not conditions:
        return True
    ctx = {k.lower(): v for k, v in context.items()}
    for raw_op, block in conditions.items():
        m = _OPERATOR.match(raw_op)
        if not m:
            return False
        set_op, op, if_exists = m.groups()
        for key, expected_raw in block.items():
            expected = [str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(expected_raw)]
            actual = ctx.get(key.lower())
            if op == "Null":
                want_null = expected[0].lower() == "true"
                if (actual is None) != want_null:
                    return False
                continue
            if actual is None:
                # an absent key: IfExists and ForAllValues match; a negated operator (StringNotEquals,
                # ArnNotLike, ...) matches too, every other operator does not
                # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)
                if if_exists or set_op == "ForAllValues" or (set_op is None and "Not" in op):
                    continue
                return False
            if set_op == "ForAllValues":
                result = all(_compare(op, expected, [a]) for a in actual)
            else:
                outcome = _compare(op, expected, actual)
                if outcome is None:
                    return False
                result = outcome
            if not result:
                return False
    return True


def statement_applies(
    statement: dict[str, Any],
    action: str,
    resource: str,
    context: dict[str, list[str]],
    caller: tuple[str, str] | None = None,
) -> bool:
    if "NotAction" in statement:
        if _matches_any(_as_list(statement["NotAction"]), action, ignore_case=True):
            return False
    elif not _matches_any(_as_list(statement.get("Action")), action, ignore_case=True):
        return False
    if "NotResource" in statement:
        if _matches_any(_as_list(statement["NotResource"]), resource):
            return False
    elif "Resource" in statement and not _matches_any(_as_list(statement["Resource"]), resource):
        return False
    if caller is not None and not principal_matches(statement.get("Principal"), *caller):
        return False
    return conditions_match(statement.get("Condition"), context)


def evaluate(
    documents: Iterable[dict[str, Any] | str],
    action: str,
    resource: str,
    context: dict[str, list[str]] | None = None,
    caller: tuple[str, str] | None = None,
) -> Decision:
    """Combine several policy documents; ``caller`` = (arn, account) for resource policies."""
    decision = Decision.NEUTRAL
    for doc in documents:
        parsed = json.loads(doc) if isinstance(doc, str) else doc
        for st in _as_list(parsed.get("Statement")):
            if not isinstance(st, dict):
                # moto's CloudFormation leaves a null where a template's Fn::If gave AWS::NoValue (the
                # CDK bootstrap roles' trust policies); AWS removes the element.
                continue
            if statement_applies(st, action, resource, context or {}, caller):
                if st.get("Effect") == "Deny":
                    return Decision.DENY
                if st.get("Effect") == "Allow":
                    decision = Decision.ALLOW
    return decision


__all__ = ["Decision", "conditions_match", "evaluate", "principal_matches", "statement_applies"]
