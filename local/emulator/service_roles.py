"""Role credentials an AWS service hands to the code it runs (Lambda: the function's execution role).

Lambda assumes a function's execution role itself, as the service principal ``lambda.amazonaws.com``
the role's trust policy names, and gives the function the session's credentials. No caller of the
STS API can do that: an account admin calling ``AssumeRole`` is not that principal (and moto 5.2.5
fails on a ``Service`` principal in a same-account trust check). So the session is made in moto's STS
backend of the role's account, after checking that the role exists and that its trust policy allows
``sts:AssumeRole`` to the service. Needs the emulator in this process (``EmulatorServer`` or
``mock_aws``). The session is a normal moto role session: every call made with it is authorized
against the role's policies.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition

from . import policy


class NotTrusted(PermissionError):
    """The role's trust policy does not let the service assume it."""


@dataclass(frozen=True)
class RoleCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expires_at: float  # epoch seconds

    def environment(self) -> dict[str, str]:
        """The variables Lambda sets for a function running with these credentials."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
            "AWS_SECURITY_TOKEN": self.session_token,
        }


def _trusts(trust_policy: Any, service: str) -> bool:
    doc = json.loads(trust_policy) if isinstance(trust_policy, str) else trust_policy
    statements = doc.get("Statement") or []
    for st in statements if isinstance(statements, list) else [statements]:
        principal = st.get("Principal")
        services = principal.get("Service") if isinstance(principal, dict) else None
        names = services if isinstance(services, list) else [services]
        if st.get("Effect") != "Allow" or service not in names:
            continue
        if policy.statement_applies(
            {k: v for k, v in st.items() if k != "Principal"}, "sts:AssumeRole", "*", {}
        ):
            return True
    return False


def service_role_credentials(
    role_arn: str,
    *,
    service: str = "lambda.amazonaws.com",
    session_name: str,
    region: str,
    duration_seconds: int = 3600,
) -> RoleCredentials:
    """A session of ``role_arn`` made as ``service`` would make it (trust policy checked)."""
    m = re.match(r"^arn:([^:]+):iam::(\d{12}):role/(?:.*/)?([^/]+)$", role_arn)
    if not m:
        raise ValueError(f"not a role ARN: {role_arn}")
    account, partition = m.group(2), get_partition(region)
    role = iam_backends[account][partition].get_role_by_arn(role_arn)
    if not _trusts(role.assume_role_policy_document, service):
        raise NotTrusted(f"the trust policy of {role_arn} does not allow {service} to assume it")
    session = sts_backends[account][partition].assume_role(
        region_name=region,
        role_session_name=session_name,
        role_arn=role_arn,
        policy=None,  # type: ignore[arg-type]
        duration=duration_seconds,
        external_id=None,  # type: ignore[arg-type]
    )
    return RoleCredentials(
        access_key_id=session.access_key_id,
        secret_access_key=session.secret_access_key,
        session_token=session.session_token,
        expires_at=session.expiration.timestamp(),
    )


class RenewingRoleCredentials:
    """A service role's credentials, renewed ``renew_before`` seconds before they expire.

    ``on_renew`` is called with the new credentials after each renewal (not the first session).
    """

    def __init__(
        self,
        role_arn: str,
        *,
        region: str,
        session_name: str,
        service: str = "lambda.amazonaws.com",
        duration_seconds: int = 3600,
        renew_before: float = 900.0,  # botocore refreshes 15 minutes ahead: renew by then
        clock: Callable[[], float] = time.time,
        on_renew: Callable[[RoleCredentials], None] | None = None,
    ) -> None:
        self.role_arn = role_arn
        self._kwargs = {
            "service": service,
            "session_name": session_name,
            "region": region,
            "duration_seconds": duration_seconds,
        }
        self._renew_before = renew_before
        self._clock = clock
        self._on_renew = on_renew
        self._lock = threading.Lock()
        self._current: RoleCredentials | None = None
        self.renewals = 0

    def get(self) -> RoleCredentials:
        with self._lock:
            current = self._current
            if current is not None and current.expires_at - self._renew_before > self._clock():
                return current
            fresh = service_role_credentials(self.role_arn, **self._kwargs)  # type: ignore[arg-type]
            self._current = fresh
            if current is not None:
                self.renewals += 1
                if self._on_renew is not None:
                    self._on_renew(fresh)
            return fresh

    def environment(self) -> dict[str, str]:
        return self.get().environment()

    def botocore_metadata(self) -> dict[str, str]:
        """For ``botocore.credentials.RefreshableCredentials.create_from_metadata``."""
        creds = self.get()
        return {
            "access_key": creds.access_key_id,
            "secret_key": creds.secret_access_key,
            "token": creds.session_token,
            "expiry_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(creds.expires_at)),
        }


__all__ = ["NotTrusted", "RenewingRoleCredentials", "RoleCredentials", "service_role_credentials"]
