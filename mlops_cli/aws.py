"""AWS session and client factory.

Honours the standard credential chain, `--profile`, `--region`, `--role-arn` (STS AssumeRole) and
`AWS_ENDPOINT_URL` (read by botocore itself, so every client, STS included, talks to the emulator).
boto3 is imported here, lazily, so `mlops --help` stays fast.
"""

from __future__ import annotations

import getpass
import os
import re
import threading
from typing import Any

from mlops_cli.errors import EXIT_USAGE, REGION_HINT, CliError, translated

SESSION_NAME_PREFIX = "mlops-cli"


def _session_name() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        user = "user"
    name = re.sub(r"[^\w+=,.@-]", "-", f"{SESSION_NAME_PREFIX}-{user}")
    return name[:64]


class Aws:
    """Creates and caches boto3 clients; assumes roles for other accounts on demand."""

    def __init__(
        self,
        *,
        profile: str | None = None,
        region: str | None = None,
        role_arn: str | None = None,
        session: Any = None,
    ) -> None:
        import boto3
        from botocore.config import Config

        self._config = Config(
            user_agent_extra="mlops-cli",
            retries={"mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
        )
        # boto3 reads AWS_DEFAULT_REGION (and the profile's region) but not AWS_REGION, which the other
        # AWS SDKs read first (https://docs.aws.amazon.com/sdkref/latest/guide/feature-region.html):
        # honour both, AWS_REGION first.
        region = region or os.environ.get("AWS_REGION") or None
        base = session or boto3.Session(profile_name=profile, region_name=region)
        if role_arn:
            base = self._assume(base, role_arn, region or base.region_name)
        self.session = base
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._assumed: dict[str, Aws] = {}
        self._lock = threading.RLock()  # boto3 sessions are not thread-safe when creating clients

    @property
    def region(self) -> str:
        region = self.session.region_name
        if not region:
            raise CliError("no AWS region configured", EXIT_USAGE, hint=REGION_HINT)
        return str(region)

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self.session.client(
                    service, region_name=region or self.region, config=self._config
                )
            return self._clients[key]

    def _assume(self, base: Any, role_arn: str, region: str | None) -> Any:
        import boto3

        sts = base.client("sts", region_name=region or base.region_name, config=self._config)
        with translated(
            needs=f"permission to sts:AssumeRole on {role_arn} (and a trust policy that admits you)"
        ):
            creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=_session_name())["Credentials"]
        return boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=region or base.region_name,
        )

    def assumed(self, role_arn: str) -> Aws:
        """An Aws for `role_arn` (cached), assumed from this session's credentials."""
        with self._lock:
            if role_arn not in self._assumed:
                session = self._assume(self.session, role_arn, self.session.region_name)
                self._assumed[role_arn] = Aws(session=session)
            return self._assumed[role_arn]
