"""Requests for a region AWS does not have get AWS's answer, not an HTML 500.

moto keys its backends by region name and raises ``KeyError`` (an HTML 500 page) for a region it
does not know (``--region eu-west-9``, ``xx-fake-1``). Real AWS has no endpoint there at all; the
server-side answer closest to it is what a region not enabled for the account gives: the request's
credentials are not recognized there, ``UnrecognizedClientException`` (HTTP 400) for the JSON
protocols and ``InvalidClientTokenId`` (HTTP 403) for query/XML
(https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html). The message names the
region, so a user sees at once what is wrong. Known regions: every region of every partition in
botocore's bundled endpoint data, plus the partitions' global pseudo-regions.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.loaders
from moto.core.exceptions import JsonRESTError, _RESTError
from moto.core.responses import BaseResponse

_original_setup_class = BaseResponse.setup_class


@cache
def known_regions() -> frozenset[str]:
    endpoints = botocore.loaders.create_loader().load_data("endpoints")
    names: set[str] = set()
    for partition in endpoints["partitions"]:
        names.update(partition.get("regions", {}))
        names.add(f"{partition['partition']}-global")
        for service in partition.get("services", {}).values():
            names.update(service.get("endpoints", {}))
    return frozenset(names)


class UnknownRegion(_RESTError):
    code = 403

    def __init__(self, region: str) -> None:
        super().__init__("InvalidClientTokenId", _message(region))


class UnknownRegionJson(JsonRESTError):
    def __init__(self, region: str) -> None:
        super().__init__("UnrecognizedClientException", _message(region))


def _message(region: str) -> str:
    return (
        f"The security token included in the request is invalid: there is no AWS region {region!r} "
        "(check --region, AWS_REGION or AWS_DEFAULT_REGION)"
    )


def _setup_class(
    self: BaseResponse, request: Any, full_url: str, headers: Any, *args: Any, **kwargs: Any
) -> Any:
    result = _original_setup_class(self, request, full_url, headers, *args, **kwargs)
    region = _signed_region(request)  # what the client asked for (moto's URL guesses are not that)
    if region and region not in known_regions():
        raise UnknownRegionJson(region) if _speaks_json(request) else UnknownRegion(region)
    return result


def _credential_scope(request: Any) -> list[str]:
    """`<key>/<date>/<region>/<service>/aws4_request` of a SigV4 Authorization header, split."""
    authorization = str(request.headers.get("Authorization", ""))
    if "Credential=" not in authorization:
        return []
    return authorization.split("Credential=", 1)[1].split(",")[0].split("/")


def _signed_region(request: Any) -> str | None:
    scope = _credential_scope(request)
    return scope[2] if len(scope) >= 4 else None


def _speaks_json(request: Any) -> bool:
    """The protocol of the service the request is signed for (its SigV4 credential scope)."""
    parts = _credential_scope(request)
    if len(parts) >= 4 and (protocol := _protocol(parts[3])):
        return protocol in ("json", "rest-json")
    return "json" in str(request.headers.get("Content-Type", ""))


@cache
def _protocol(signing_name: str) -> str | None:
    loader = botocore.loaders.create_loader()
    try:
        model = loader.load_service_model(signing_name, "service-2")
    except Exception:  # noqa: BLE001 - a signing name that is not a service name
        return None
    return str(model["metadata"].get("protocol"))


def install() -> None:
    BaseResponse.setup_class = _setup_class  # type: ignore[method-assign,assignment]


__all__ = ["UnknownRegion", "UnknownRegionJson", "install", "known_regions"]
