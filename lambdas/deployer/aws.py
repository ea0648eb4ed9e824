"""AWS clients, created lazily on first use and cached for the life of the Lambda sandbox.

Nothing here runs at import time except ``import boto3`` itself (the cold start budget is measured
against it). Clients for serving accounts use the deployment's deploy-access role through STS
AssumeRole; the temporary credentials are cached per role and renewed a few minutes before they
expire, so a warm invocation makes no STS call.

Retries: botocore "standard" mode (exponential backoff with jitter; retries throttling errors,
5xx and connection errors), 5 attempts in all. "adaptive" adds client-side rate limiting that only
pays off in long-lived processes; a Lambda sandbox makes a handful of calls per event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

RETRY_CONFIG = Config(
    retries={"total_max_attempts": 5, "mode": "standard"},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="mlops-deployer",
)
SESSION_NAME = "mlops-deployer"
ROLE_SESSION_SECONDS = 3600
RENEW_BEFORE_SECONDS = 300


class ClientFactory:
    """``client(service, region, role_arn=None)``: a cached boto3 client, assumed-role where asked."""

    def __init__(
        self,
        *,
        session: Any | None = None,
        clock: Callable[[], float] = time.time,
        config: Config = RETRY_CONFIG,
    ) -> None:
        self._session = session
        self._clock = clock
        self._config = config
        self._clients: dict[tuple[str, str | None, str | None], Any] = {}
        self._credentials: dict[str, tuple[dict[str, str], float]] = {}
        self._lock = threading.Lock()

    @property
    def session(self) -> Any:
        if self._session is None:
            self._session = boto3.session.Session()
        return self._session

    def client(self, service: str, region: str | None = None, role_arn: str | None = None) -> Any:
        with self._lock:
            creds = self._role_credentials(role_arn) if role_arn else None
            key = (service, region, role_arn)
            cached = self._clients.get(key)
            if cached is not None and (creds is None or cached[1] is creds):
                return cached[0]
            kwargs: dict[str, Any] = {"region_name": region, "config": self._config}
            if creds is not None:
                kwargs.update(
                    aws_access_key_id=creds["AccessKeyId"],
                    aws_secret_access_key=creds["SecretAccessKey"],
                    aws_session_token=creds["SessionToken"],
                )
            client = self.session.client(service, **kwargs)
            self._clients[key] = (client, creds)
            return client

    def _role_credentials(self, role_arn: str) -> dict[str, str]:
        cached = self._credentials.get(role_arn)
        now = self._clock()
        if cached is not None and cached[1] - RENEW_BEFORE_SECONDS > now:
            return cached[0]
        sts_key = ("sts", None, None)
        if sts_key not in self._clients:
            self._clients[sts_key] = (self.session.client("sts", config=self._config), None)
        response = self._clients[sts_key][0].assume_role(
            RoleArn=role_arn, RoleSessionName=SESSION_NAME, DurationSeconds=ROLE_SESSION_SECONDS
        )
        creds = response["Credentials"]
        expiry = creds["Expiration"]
        expires_at = expiry.timestamp() if hasattr(expiry, "timestamp") else now + ROLE_SESSION_SECONDS
        fresh = {k: creds[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}
        self._credentials[role_arn] = (fresh, expires_at)
        return fresh


_FACTORY: ClientFactory | None = None


def factory() -> ClientFactory:
    """The sandbox-wide factory (module-level cache, created on first use)."""
    global _FACTORY
    if _FACTORY is None:
        _FACTORY = ClientFactory()
    return _FACTORY


def reset() -> None:
    """Forget every cached client and credential (tests)."""
    global _FACTORY
    _FACTORY = None
