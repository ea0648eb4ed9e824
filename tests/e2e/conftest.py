"""One emulator with every stack deployed (about 30-40 s), shared by the end-to-end modules."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.core.base_backend import BackendDict

from local.demo import Scenario, StepResult
from local.emulator import reset_clock
from local.emulator.up import LocalAws


@contextlib.contextmanager
def deployed_local_aws(config_path: Path | None = None) -> Iterator[LocalAws]:
    """A fresh emulator with every stack of ``config_path`` (default: the example) deployed; stopped,
    and moto's state reset, on exit."""
    root = logging.getLogger()
    saved = root.level, [(h, h.formatter) for h in root.handlers]  # the deployer reconfigures logging
    BackendDict.reset()
    local = LocalAws(port=0, log=lambda message: None, function_log_level="WARNING")
    if config_path is not None:
        local.config_path = config_path
    try:
        local.start()
        yield local
    finally:
        local.stop()
        BackendDict.reset()
        reset_clock()
        root.setLevel(saved[0])
        for handler, formatter in saved[1]:
            handler.setFormatter(formatter)


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    with deployed_local_aws() as local:
        yield local


@pytest.fixture(scope="session")
def played(local_aws: LocalAws) -> tuple[Scenario, list[StepResult]]:
    """The demo's scenario, played once (with its load generator during every update)."""
    scenario = Scenario(local_aws.info, say=lambda message: None)
    return scenario, scenario.run()
