"""Composition root of the Lambda: settings from the environment, clients from the factory."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from deployer.aws import ClientFactory
from deployer.ledger import Ledger
from deployer.notifier import Notifier
from deployer.sagemaker_gateway import SageMakerGateway
from deployer.service import DeployerService
from deployer.settings import load_settings


def build_service(env: Mapping[str, str], clients: ClientFactory) -> DeployerService:
    settings = load_settings(env)
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    return DeployerService(
        settings=settings,
        gateway=SageMakerGateway(lambda where, role: clients.client("sagemaker", where, role)),
        ledger=Ledger(_Lazy(lambda: clients.client("dynamodb", region)), settings.ledger_table),
        notifier=Notifier(_Lazy(lambda: clients.client("sns", region)), settings.topic_arn),
    )


class _Lazy:
    """Creates the wrapped client on first attribute access (a warm path never pays twice)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = self._make()
        return getattr(self._client, name)
