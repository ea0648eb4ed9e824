"""Project-owned extension of moto 5.2.5: what moto lacks for the MLOps flow (see EMULATION.md).

Usage::

    from local.emulator import install, advance
    install()                  # idempotent; patches moto in this process
    with mock_aws():
        ...create_endpoint...  # endpoint is Creating
        advance()              # emulator clock moves on: InService

``install()`` works for ``mock_aws()`` and for a moto server started in this process
(``local.emulator.server``).
"""

from __future__ import annotations

import moto

from .clock import TIMING, configure, reset_clock
from .endpoints import Transition, advance, event_status, pending_count, start_ticker, stop_ticker, tick

SUPPORTED_MOTO_VERSION = "5.2.5"

_installed = False


def install() -> None:
    """Patch moto in-process. Safe to call any number of times."""
    global _installed
    if _installed:
        return
    if moto.__version__ != SUPPORTED_MOTO_VERSION:
        raise RuntimeError(
            f"local.emulator is pinned to moto=={SUPPORTED_MOTO_VERSION}, found moto=={moto.__version__}"
        )
    from . import auth, cfn, endpoints, events, iam, lambdas, models, regions, registry, s3, service_iam, ssm

    events.install()
    endpoints.install()
    registry.install()
    iam.install()
    service_iam.install()
    cfn.install()
    s3.install()
    auth.install()
    models.install()
    lambdas.install()
    ssm.install()
    regions.install()
    _installed = True


__all__ = [
    "SUPPORTED_MOTO_VERSION",
    "TIMING",
    "Transition",
    "advance",
    "configure",
    "event_status",
    "install",
    "pending_count",
    "reset_clock",
    "start_ticker",
    "stop_ticker",
    "tick",
]
