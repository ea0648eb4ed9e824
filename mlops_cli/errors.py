"""Error types and the exit codes scripts can rely on (documented in mlops_cli/README.md)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

EXIT_OK = 0
EXIT_USAGE = 1  # bad arguments, validation error, refused or aborted confirmation
EXIT_NOT_FOUND = 2  # group, version, endpoint, ledger entry or deployments catalog does not exist
EXIT_DENIED = 3  # AccessDenied (or no credentials at all)
EXIT_UNREACHABLE = 4  # the AWS endpoint (or the local emulator at AWS_ENDPOINT_URL) cannot be reached
EXIT_STUCK = 5  # `mlops status`: at least one endpoint is stuck or failed
EXIT_AWS_ERROR = 6  # any other AWS API error
EXIT_ROLLED_BACK = 7  # `mlops watch`: the rollout ended with the old version serving (rolled back)

REGION_HINT = "pass --region, or set AWS_REGION (or AWS_DEFAULT_REGION)"
CREDENTIALS_HINT = (
    "the access key is unknown, expired or mistyped: refresh your credentials (e.g. `aws sso login`), "
    "or choose others with --profile / AWS_PROFILE"
)

_DENIED_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedException",
    "NotAuthorized",
    "AuthorizationError",
    "403",  # moto's IAM enforcement answers SageMaker calls with a bare XML 403
}
_INVALID_CREDENTIALS_CODES = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
}
_NOT_FOUND_CODES = {
    "ResourceNotFoundException",
    "ResourceNotFound",
    "NoSuchKey",
    "NoSuchBucket",
    "NotFound",
    "404",
}
_NOT_FOUND_PHRASES = ("does not exist", "not found", "could not find", "cannot find")


class CliError(Exception):
    """An error with a message for humans and an exit code for scripts."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.hint = hint
        self.located = False  # the hint already says where the caller and the registry are

    def render(self) -> str:
        return f"error: {self.message}" + (f"\nhint: {self.hint}" if self.hint else "")


def error_code(exc: Exception) -> str:
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def is_denied(exc: Exception) -> bool:
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error_code(exc) in _DENIED_CODES or status == 403


def is_not_found(exc: Exception) -> bool:
    code = error_code(exc)
    if code in _NOT_FOUND_CODES:
        return True
    message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", "")).lower()
    return code == "ValidationException" and any(phrase in message for phrase in _NOT_FOUND_PHRASES)


def _clean(message: str) -> str:
    """Some services (and moto's IAM enforcement) put a whole XML error document in the message."""
    if message.lstrip().startswith("<"):
        found = re.search(r"<Message>(.*?)</Message>", message, re.S)
        code = re.search(r"<Code>(.*?)</Code>", message, re.S)
        if found:
            return f"{code.group(1)}: {found.group(1)}" if code else found.group(1)
    return message


def from_client_error(exc: Exception, *, needs: str | None = None, what: str | None = None) -> CliError:
    """Translate a botocore ClientError into a CliError with the right exit code.

    `needs` names the role or permission that would allow the call (used for AccessDenied);
    `what` names the thing that was looked up (used for not found).
    """
    code = error_code(exc)
    message = _clean(str(getattr(exc, "response", {}).get("Error", {}).get("Message", "")) or str(exc))
    operation = getattr(exc, "operation_name", "an AWS call")
    # Checked before "denied": some services answer rejected credentials with HTTP 403 too, and then
    # a hint about missing permissions would send the user the wrong way.
    if code in _INVALID_CREDENTIALS_CODES:
        return CliError(
            f"the AWS credentials were rejected ({code}): {message}", EXIT_DENIED, hint=CREDENTIALS_HINT
        )
    if is_denied(exc):
        return CliError(
            f"permission denied for {operation} ({code}): {message}",
            EXIT_DENIED,
            hint=f"this needs {needs}" if needs else "check the role you are using (--profile / --role-arn)",
        )
    if is_not_found(exc):
        return CliError(f"{what or 'resource'} not found: {message}", EXIT_NOT_FOUND)
    return CliError(f"{operation} failed ({code}): {message}", EXIT_AWS_ERROR)


@contextmanager
def translated(*, needs: str | None = None, what: str | None = None) -> Iterator[None]:
    """Turn ClientErrors raised inside the block into CliErrors (with a role hint for AccessDenied)."""
    from botocore.exceptions import ClientError

    try:
        yield
    except ClientError as exc:
        raise from_client_error(exc, needs=needs, what=what) from exc


def unreachable(exc: Exception) -> CliError:
    endpoint_url = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint_url:
        return CliError(
            f"cannot reach AWS_ENDPOINT_URL={endpoint_url}: {exc}",
            EXIT_UNREACHABLE,
            hint="is the local emulator running? Start it with `mlops local up`, or unset AWS_ENDPOINT_URL "
            "to use real AWS",
        )
    return CliError(f"cannot reach AWS: {exc}", EXIT_UNREACHABLE, hint="check your network and --region")
