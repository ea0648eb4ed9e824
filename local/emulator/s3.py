"""Bucket policies on object requests, evaluated with the project's policy evaluator.

moto checks a bucket's policy on object requests (``FakeBucket.get_permission``) without any
condition values and treats a statement whose condition does not match as an explicit deny, so the
TLS-only statement every CDK bucket carries (``Deny s3:*`` when ``aws:SecureTransport`` is
``false``) denied every object request once CloudFormation applied bucket policies. Here the policy
is evaluated by :mod:`local.emulator.policy`: a statement applies only when its conditions match,
with ``aws:SecureTransport`` = ``true`` (the emulator speaks plain HTTP on localhost, its stand-in
for TLS). The principal is not known at this point of moto's flow, so statements apply whatever
their ``Principal`` (identity policies are still enforced separately when auth is on).

The request's own S3 condition keys are in the context too, as the Service Authorization Reference
lists them for ``s3:PutObject`` (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html):

- ``s3:if-none-match`` (the ``If-None-Match`` header) and ``s3:ObjectCreationOperation`` (``true`` for
  PutObject, CopyObject and CompleteMultipartUpload, ``false`` for CreateMultipartUpload, UploadPart
  and UploadPartCopy, which accept no conditional header), so a bucket policy can enforce conditional
  writes as https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html shows;
- ``s3:x-amz-server-side-encryption`` and ``s3:x-amz-server-side-encryption-aws-kms-key-id`` (the
  headers; absent when the request does not send them: the bucket's default encryption applies), see
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html.

A CompleteMultipartUpload or CreateMultipartUpload (HTTP POST) is authorized as ``s3:PutObject``, as
AWS does; moto names it ``s3:PostObject``. moto itself answers ``If-None-Match: *`` on an existing key
with 412 PreconditionFailed (PutObject and CompleteMultipartUpload), as S3 does.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.iam.access_control import PermissionResult
from moto.s3.models import FakeBucket
from moto.s3.responses import S3Response

from . import policy

CONTEXT = {"aws:SecureTransport": ["true"]}

_RESULT = {
    policy.Decision.ALLOW: PermissionResult.PERMITTED,
    policy.Decision.DENY: PermissionResult.DENIED,
    policy.Decision.NEUTRAL: PermissionResult.NEUTRAL,
}
_SSE_HEADERS = ("x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id")

# The object request being authorized (moto's server handles each request in its own thread).
_current = threading.local()


def request_keys(method: str, headers: Any, query: str) -> dict[str, list[str]]:
    """S3 condition keys of an object write request (method, headers, raw query string)."""
    method = method.upper()
    if method not in ("PUT", "POST"):
        return {}
    params = {part.split("=", 1)[0] for part in query.split("&") if part}
    if method == "PUT" and params & {"acl", "tagging", "retention", "legal-hold"}:
        return {}  # sub-resource writes are other actions
    part_or_start = (method == "PUT" and "partNumber" in params) or (method == "POST" and "uploads" in params)
    keys: dict[str, list[str]] = {"s3:ObjectCreationOperation": ["false" if part_or_start else "true"]}
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None and not part_or_start:
        keys["s3:if-none-match"] = [str(if_none_match)]
    for header in _SSE_HEADERS:
        value = headers.get(header)
        if value is not None:
            keys[f"s3:{header}"] = [str(value)]
    return keys


def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
    if self.policy is None:
        return PermissionResult.NEUTRAL
    context = dict(CONTEXT)
    if action == "s3:PostObject":
        action = "s3:PutObject"  # CreateMultipartUpload / CompleteMultipartUpload / form POST
    if action == "s3:PutObject":
        context.update(getattr(_current, "keys", None) or {})
    return _RESULT[policy.evaluate([self.policy.decode()], action, resource, context)]


_original_key_response = S3Response._key_response


def _key_response(self: S3Response, request: Any, full_url: str) -> Any:
    query = full_url.split("?", 1)[1] if "?" in full_url else ""
    _current.keys = request_keys(request.method, request.headers, query)
    try:
        return _original_key_response(self, request, full_url)
    finally:
        _current.keys = None


def install() -> None:
    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
    S3Response._key_response = _key_response  # type: ignore[method-assign]
