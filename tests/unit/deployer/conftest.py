from __future__ import annotations

import pytest
from deployer.service import DeployerService

from tests.unit.deployer.deployer_fakes import (
    FakeLedger,
    FakeNotifier,
    FakeSageMaker,
    LambdaContext,
    make_deployment,
    make_settings,
)


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def sagemaker() -> FakeSageMaker:
    return FakeSageMaker()


@pytest.fixture
def ledger(sagemaker: FakeSageMaker) -> FakeLedger:
    return FakeLedger(sagemaker)


@pytest.fixture
def notifier() -> FakeNotifier:
    return FakeNotifier()


@pytest.fixture
def deployment():
    return make_deployment()


@pytest.fixture
def service(sagemaker, ledger, notifier, deployment) -> DeployerService:
    return DeployerService(make_settings(deployment), sagemaker, ledger, notifier)  # type: ignore[arg-type]
