"""Request signature checks that moto gets wrong for REST services, when IAM enforcement is on.

moto recomputes a request's SigV4 signature from ``body or data``; for a REST request without a
body (Lambda's ``GET /2015-03-31/functions/...``) ``data`` holds the request's headers, so the
payload hash differed and every such call failed with ``SignatureDoesNotMatch``. Here an empty
body is signed as the empty payload, as every SDK does.
"""

from __future__ import annotations

from typing import Any

from moto.iam.access_control import IAMRequestBase

_original_create_aws_request = IAMRequestBase._create_aws_request


def _create_aws_request(self: IAMRequestBase) -> Any:
    if self._body or self._method.upper() == "POST":
        return _original_create_aws_request(self)
    saved = self._data
    self._data = {}  # type: ignore[assignment]
    try:
        return _original_create_aws_request(self)
    finally:
        self._data = saved


def install() -> None:
    IAMRequestBase._create_aws_request = _create_aws_request  # type: ignore[method-assign]
