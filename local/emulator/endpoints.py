"""SageMaker endpoint status transitions and ``UpdateEndpoint`` for moto.

Model (see EMULATION.md):

- ``CreateEndpoint`` returns with the endpoint ``Creating``; it becomes ``InService`` after
  ``TIMING.creating_seconds`` on the emulator clock.
- ``UpdateEndpoint`` needs an ``InService`` endpoint (else ValidationException "Cannot update
  in-progress endpoint"), sets ``Updating`` and, after ``TIMING.updating_seconds``, ``InService`` on
  the new EndpointConfig. While it is ``Updating``, whenever transitions are applied and any alarm
  named in ``DeploymentConfig.AutoRollbackConfiguration.Alarms`` is in ``ALARM`` in the endpoint's
  account and region, it turns ``RollingBack`` and, after ``TIMING.rolling_back_seconds``,
  ``InService`` on the old EndpointConfig (silently: no FailureReason, as SageMaker does).
- Every status change emits a "SageMaker Endpoint State Change" event.
"""

from __future__ import annotations

import contextlib
import re
import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse

from . import clock, events
from . import deployment_config as deployment_limits

ENDPOINT_STATE_CHANGE = "SageMaker Endpoint State Change"


@dataclass
class _Pending:
    """What an endpoint is waiting for."""

    status: str  # Creating | Updating | RollingBack
    due: float
    old_config: str | None = None
    new_config: str | None = None
    alarms: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Transition:
    """One applied status change (returned by ``advance`` for tests and logs)."""

    account_id: str
    region: str
    endpoint_name: str
    status: str
    endpoint_config_name: str


_pending: weakref.WeakKeyDictionary[FakeEndpoint, _Pending] = weakref.WeakKeyDictionary()


def _account_region(endpoint: FakeEndpoint) -> tuple[str, str]:
    parts = endpoint.arn.split(":")
    return parts[4], parts[3]


def _backend_of(endpoint: FakeEndpoint) -> Any:
    account_id, region = _account_region(endpoint)
    return sagemaker_backends[account_id][region]


def _is_live(endpoint: FakeEndpoint) -> bool:
    """Still the object moto serves (not wiped by a reset or deleted)?"""
    return _backend_of(endpoint).endpoints.get(endpoint.endpoint_name) is endpoint


def event_status(status: str) -> str:
    """``InService`` -> ``IN_SERVICE``: the spelling of EndpointStatus in endpoint events."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", status).upper()


def _epoch_ms(value: datetime) -> float:
    return value.timestamp() * 1000.0


def _emit(endpoint: FakeEndpoint) -> None:
    account_id, region = _account_region(endpoint)
    detail: dict[str, Any] = {
        "EndpointName": endpoint.endpoint_name,
        "EndpointArn": endpoint.arn,
        "EndpointConfigName": endpoint.endpoint_config_name,
        "ProductionVariants": [
            {k: v for k, v in variant.items() if k.startswith("Desired") or k == "VariantName"}
            for variant in endpoint.production_variants
        ],
        "EndpointStatus": event_status(endpoint.endpoint_status),
        "CreationTime": _epoch_ms(endpoint.creation_time),
        "LastModifiedTime": _epoch_ms(endpoint.last_modified_time),
        "Tags": {t["Key"]: t["Value"] for t in endpoint.tags or []},
    }
    if endpoint.failure_reason:
        detail["FailureReason"] = endpoint.failure_reason
    events.emit(account_id, region, ENDPOINT_STATE_CHANGE, detail, [endpoint.arn])


def _set_status(endpoint: FakeEndpoint, status: str, applied: list[Transition] | None = None) -> None:
    endpoint.endpoint_status = status
    endpoint.last_modified_time = utcnow()
    account_id, region = _account_region(endpoint)
    if applied is not None:
        applied.append(
            Transition(account_id, region, endpoint.endpoint_name, status, endpoint.endpoint_config_name)
        )
    _emit(endpoint)


def _alarms_firing(endpoint: FakeEndpoint, names: list[str]) -> list[str]:
    if not names:
        return []
    account_id, region = _account_region(endpoint)
    alarms = cloudwatch_backends[account_id][region].alarms
    return [n for n in names if n in alarms and alarms[n].state_value == "ALARM"]


def _apply_variants(endpoint: FakeEndpoint, config_name: str) -> None:
    config = _backend_of(endpoint).endpoint_configs[config_name]
    endpoint.endpoint_config_name = config_name
    endpoint.production_variants = endpoint._process_production_variants(config.production_variants)


def tick() -> list[Transition]:
    """Apply every transition that is due on the emulator clock, in due order."""
    applied: list[Transition] = []
    with clock.LOCK:
        while True:
            now = clock.now()
            for endpoint, pending in list(_pending.items()):
                if not _is_live(endpoint):
                    _pending.pop(endpoint, None)
                elif pending.status == "Updating" and _alarms_firing(endpoint, pending.alarms):
                    pending.status = "RollingBack"
                    pending.due = now + clock.TIMING.rolling_back_seconds
                    _set_status(endpoint, "RollingBack", applied)
            due = [(p.due, e.arn, e) for e, p in list(_pending.items()) if p.due <= now]
            if not due:
                return applied
            _, _, endpoint = min(due, key=lambda item: (item[0], item[1]))
            pending = _pending.pop(endpoint)
            if pending.status == "Updating" and pending.new_config:
                endpoint.pending_deployment_summary = None  # type: ignore[attr-defined]
                _apply_variants(endpoint, pending.new_config)
            elif pending.status == "RollingBack":
                endpoint.pending_deployment_summary = None  # type: ignore[attr-defined]
            _set_status(endpoint, "InService", applied)


def pending_count() -> int:
    with clock.LOCK:
        return sum(1 for e in list(_pending.keys()) if _is_live(e))


def advance(seconds: float | None = None) -> list[Transition]:
    """Move the emulator clock forward and apply what became due.

    ``advance()`` with no argument runs until nothing is pending (a settled world); note that it
    completes updates, so set a rollback alarm to ALARM before calling it if you want a rollback.
    """
    if seconds is not None:
        clock.shift(seconds)
        return tick()
    applied: list[Transition] = []
    with clock.LOCK:
        applied += tick()
        while _pending:
            live = [p.due for e, p in list(_pending.items()) if _is_live(e)]
            if not live:
                _pending.clear()
                break
            clock.shift(max(0.0, min(live) - clock.now()))
            applied += tick()
    return applied


# --- SageMaker API -----------------------------------------------------------------------------


def _endpoint_arn(backend: Any, name: str) -> str:
    return FakeEndpoint.arn_formatter(name, backend.account_id, backend.region_name)


def _config_arn(backend: Any, name: str) -> str:
    return FakeEndpointConfig.arn_formatter(name, backend.account_id, backend.region_name)


def _missing_config(backend: Any, name: str) -> ValidationError:
    return ValidationError(f'Could not find endpoint configuration "{_config_arn(backend, name)}".')


def create_endpoint(self: SageMakerResponse) -> ActionResult:
    tick()
    backend = self.sagemaker_backend
    name = self._get_param("EndpointName")
    config_name = self._get_param("EndpointConfigName")
    with clock.LOCK:
        if name in backend.endpoints:
            arn = _endpoint_arn(backend, name)
            raise ValidationError(f'Cannot create already existing endpoint "{arn}".')
        if config_name not in backend.endpoint_configs:
            raise _missing_config(backend, config_name)
        endpoint = backend.create_endpoint(
            endpoint_name=name, endpoint_config_name=config_name, tags=self._get_param("Tags")
        )
        _pending[endpoint] = _Pending("Creating", clock.now() + clock.TIMING.creating_seconds)
        _set_status(endpoint, "Creating")
    return ActionResult({"EndpointArn": endpoint.arn})


def update_endpoint(self: SageMakerResponse) -> ActionResult:
    tick()
    backend = self.sagemaker_backend
    name = self._get_param("EndpointName")
    config_name = self._get_param("EndpointConfigName")
    deployment_config = self._get_param("DeploymentConfig")
    with clock.LOCK:
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            raise ValidationError(f'Could not find endpoint "{_endpoint_arn(backend, name)}".')
        if endpoint.endpoint_status != "InService":
            raise ValidationError(f'Cannot update in-progress endpoint "{endpoint.arn}".')
        if config_name not in backend.endpoint_configs:
            raise _missing_config(backend, config_name)
        if deployment_config is None and self._get_param("RetainDeploymentConfig"):
            deployment_config = getattr(endpoint, "last_deployment_config", None)
        deployment_limits.validate(
            deployment_config, deployment_limits.fleet_size(backend.endpoint_configs[config_name])
        )
        alarms = [
            a["AlarmName"]
            for a in ((deployment_config or {}).get("AutoRollbackConfiguration") or {}).get("Alarms", [])
        ]
        config = backend.endpoint_configs[config_name]
        endpoint.pending_deployment_summary = {  # type: ignore[attr-defined]
            "EndpointConfigName": config_name,
            "ProductionVariants": [
                {
                    k: v
                    for k, v in (
                        ("VariantName", variant["VariantName"]),
                        ("DesiredInstanceCount", variant.get("InitialInstanceCount")),
                        ("InstanceType", variant.get("InstanceType")),
                    )
                    if v is not None
                }
                for variant in config.production_variants
            ],
            "StartTime": utcnow(),
        }
        endpoint.last_deployment_config = deployment_config  # type: ignore[attr-defined]
        _pending[endpoint] = _Pending(
            "Updating",
            clock.now() + clock.TIMING.updating_seconds,
            old_config=endpoint.endpoint_config_name,
            new_config=config_name,
            alarms=alarms,
        )
        _set_status(endpoint, "Updating")
    return ActionResult({"EndpointArn": endpoint.arn})


_original: dict[str, Any] = {}


def _ticking(name: str) -> Any:
    original = _original[name]

    def wrapper(self: SageMakerResponse) -> Any:
        tick()
        return original(self)

    wrapper.__name__ = name
    return wrapper


def delete_endpoint(self: SageMakerResponse) -> EmptyResult:
    tick()
    backend = self.sagemaker_backend
    name = self._get_param("EndpointName")
    with clock.LOCK:
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            raise ValidationError(f'Could not find endpoint "{_endpoint_arn(backend, name)}".')
        _pending.pop(endpoint, None)
        _set_status(endpoint, "Deleting")
        del backend.endpoints[name]
    return EmptyResult()


_ticker: threading.Thread | None = None
_ticker_stop = threading.Event()


def start_ticker(interval: float = 0.2) -> None:
    """Apply due transitions in the background (for servers: nobody may be polling)."""
    global _ticker
    if _ticker is not None and _ticker.is_alive():
        return
    _ticker_stop.clear()

    def run() -> None:
        while not _ticker_stop.wait(interval):
            with contextlib.suppress(Exception):  # keep ticking; a reset may race with a tick
                tick()

    _ticker = threading.Thread(target=run, name="emulator-ticker", daemon=True)
    _ticker.start()


def stop_ticker() -> None:
    global _ticker
    _ticker_stop.set()
    if _ticker is not None:
        _ticker.join(timeout=2)
    _ticker = None


def install() -> None:
    for name in ("describe_endpoint", "list_endpoints"):
        _original.setdefault(name, getattr(SageMakerResponse, name))
        setattr(SageMakerResponse, name, _ticking(name))
    SageMakerResponse.create_endpoint = create_endpoint  # type: ignore[method-assign]
    SageMakerResponse.update_endpoint = update_endpoint  # type: ignore[attr-defined]
    SageMakerResponse.delete_endpoint = delete_endpoint  # type: ignore[method-assign]
