"""SageMaker endpoint status transitions, ``UpdateEndpoint`` rollouts and ``InvokeEndpoint`` for moto.

Model (see EMULATION.md):

- ``CreateEndpoint`` returns with the endpoint ``Creating``; it becomes ``InService`` after
  ``TIMING.creating_seconds`` on the emulator clock.
- ``UpdateEndpoint`` needs an ``InService`` endpoint (else ValidationException "Cannot update
  in-progress endpoint"), sets ``Updating`` and plays the phases planned by :mod:`.rollout` from the
  ``DeploymentConfig`` (provisioning for ``TIMING.updating_seconds``; canary, linear steps, final
  baking or rolling batches for their waits divided by ``TIMING.speed``), then ``InService`` on the new
  EndpointConfig. While a phase that watches alarms runs (the waits and the baking period, not the
  provisioning), whenever transitions are applied and any alarm named in
  ``DeploymentConfig.AutoRollbackConfiguration.Alarms`` is in ``ALARM`` in the endpoint's account and
  region, it turns ``RollingBack``: all traffic back on the old fleet (rolling: in batches of
  ``RollbackMaximumBatchSize``), then ``InService`` on the old EndpointConfig after
  ``TIMING.rolling_back_seconds`` (silently: no FailureReason, as SageMaker does).
- ``InvokeEndpoint`` (sagemaker-runtime) is answered by the fleet the current phase routes the request
  to; the body names the model package (ARN and version) of that fleet.
- Every status change emits a "SageMaker Endpoint State Change" event.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import re
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

from . import clock, events
from . import deployment_config as deployment_limits
from .rollout import Phase, plan, plan_rollback

ENDPOINT_STATE_CHANGE = "SageMaker Endpoint State Change"


@dataclass
class _Pending:
    """What an endpoint is waiting for."""

    status: str  # Creating | Updating | RollingBack
    due: float
    old_config: str | None = None
    new_config: str | None = None
    alarms: list[str] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    index: int = 0
    deployment_config: dict[str, Any] | None = None
    instances: int = 1

    @property
    def phase(self) -> Phase | None:
        return self.phases[self.index] if self.index < len(self.phases) else None

    def watching(self) -> bool:
        """Rollback alarms act only while a wait or baking period runs (not while provisioning)."""
        phase = self.phase
        return self.status == "Updating" and phase is not None and phase.monitored and phase.seconds > 0


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


def _boundary_now() -> datetime:
    """Now, on a whole millisecond, once the wall clock has reached it (naive UTC, like moto's utcnow).

    Timestamps reach clients with millisecond precision. Called under ``clock.LOCK`` when the traffic
    split changes, so every answer served before has ``served_at`` below this instant and every one
    after at or above it: a client can tell exactly which phase served a request.
    """
    start = math.ceil(time.time() * 1000) / 1000
    while time.time() < start:
        time.sleep(0.0001)
    return datetime.fromtimestamp(start, tz=UTC).replace(tzinfo=None)


def _set_status(endpoint: FakeEndpoint, status: str, applied: list[Transition] | None = None) -> None:
    endpoint.endpoint_status = status
    endpoint.last_modified_time = _boundary_now()
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


def _show_phase(endpoint: FakeEndpoint, pending: _Pending) -> None:
    """Put the current phase into ``PendingDeploymentSummary`` (VariantStatus, instance counts)."""
    summary = getattr(endpoint, "pending_deployment_summary", None)
    phase = pending.phase
    if not summary or phase is None:
        return
    for variant in summary.get("ProductionVariants", []):
        variant["CurrentInstanceCount"] = phase.new_instances
        variant["VariantStatus"] = [
            {"Status": phase.variant_status, "StatusMessage": phase.message, "StartTime": _boundary_now()}
        ]


def _start_rollback(endpoint: FakeEndpoint, pending: _Pending, now: float, applied: list[Transition]) -> None:
    current = pending.phase or Phase("provisioning", 0, 0.0, False, "Creating", pending.instances, 0)
    pending.status = "RollingBack"
    pending.phases = plan_rollback(
        pending.deployment_config,
        pending.instances,
        current,
        rolling_back_seconds=clock.TIMING.rolling_back_seconds,
    )
    pending.index = 0
    pending.due = now + pending.phases[0].seconds
    _show_phase(endpoint, pending)
    _set_status(endpoint, "RollingBack", applied)


def _next_phase(endpoint: FakeEndpoint, pending: _Pending) -> bool:
    """Move to the next phase; False when the update (or rollback) has no phase left."""
    if pending.index + 1 >= len(pending.phases):
        return False
    pending.index += 1
    pending.due += pending.phases[pending.index].seconds
    _show_phase(endpoint, pending)
    return True


def tick() -> list[Transition]:
    """Apply every transition that is due on the emulator clock, in due order."""
    applied: list[Transition] = []
    with clock.LOCK:
        while True:
            now = clock.now()
            for endpoint, pending in list(_pending.items()):
                if not _is_live(endpoint):
                    _pending.pop(endpoint, None)
                elif pending.watching() and _alarms_firing(endpoint, pending.alarms):
                    _start_rollback(endpoint, pending, now, applied)
            due = [(p.due, e.arn, e) for e, p in list(_pending.items()) if p.due <= now]
            if not due:
                return applied
            _, _, endpoint = min(due, key=lambda item: (item[0], item[1]))
            pending = _pending[endpoint]
            if pending.status != "Creating" and _next_phase(endpoint, pending):
                continue
            _pending.pop(endpoint)
            if pending.status == "Updating" and pending.new_config:
                endpoint.pending_deployment_summary = None  # type: ignore[attr-defined]
                _apply_variants(endpoint, pending.new_config)
            elif pending.status == "RollingBack":
                endpoint.pending_deployment_summary = None  # type: ignore[attr-defined]
            _set_status(endpoint, "InService", applied)


def seconds_left(account_id: str, region: str, name: str) -> float | None:
    """Emulator seconds until the endpoint's current phase ends (None: nothing pending).

    With the manual clock, ``advance(seconds_left(...))`` ends the phase: tests gate the clock on the
    traffic they have measured instead of on the machine's speed.
    """
    with clock.LOCK:
        endpoint = sagemaker_backends[account_id][region].endpoints.get(name)
        pending = _pending.get(endpoint) if endpoint is not None else None
        return max(0.0, pending.due - clock.now()) if pending else None


def phase_of(account_id: str, region: str, name: str) -> Phase | None:
    """The rollout phase an endpoint is in, by name (None when no update runs)."""
    with clock.LOCK:
        endpoint = sagemaker_backends[account_id][region].endpoints.get(name)
        pending = _pending.get(endpoint) if endpoint is not None else None
        return pending.phase if pending else None


def current_phase(endpoint: FakeEndpoint) -> Phase | None:
    """The rollout phase an endpoint is in (None when no update runs)."""
    with clock.LOCK:
        pending = _pending.get(endpoint)
        return pending.phase if pending else None


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
        instances = sum(int(v.get("InitialInstanceCount") or 1) for v in config.production_variants)
        phases = plan(
            deployment_config,
            instances,
            provisioning_seconds=clock.TIMING.updating_seconds,
            speed=clock.TIMING.speed,
        )
        pending = _Pending(
            "Updating",
            clock.now() + phases[0].seconds,
            old_config=endpoint.endpoint_config_name,
            new_config=config_name,
            alarms=alarms,
            phases=phases,
            deployment_config=deployment_config,
            instances=instances,
        )
        _pending[endpoint] = pending
        _show_phase(endpoint, pending)
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


# --- SageMaker Runtime -------------------------------------------------------------------------


class RuntimeValidationError(JsonRESTError):
    """sagemaker-runtime's ValidationError (HTTP 400)."""

    def __init__(self, message: str) -> None:
        super().__init__("ValidationError", message)


def _route(endpoint: FakeEndpoint) -> str:
    """The EndpointConfig whose fleet serves the next request (the phase's share on the new fleet)."""
    pending = _pending.get(endpoint)
    phase = pending.phase if pending else None
    if pending is None or phase is None or not pending.new_config:
        return str(endpoint.endpoint_config_name)
    share = phase.new_share if pending.status != "Creating" else 0.0
    return pending.new_config if random.random() < share else str(pending.old_config)  # noqa: S311


def _served_by(backend: Any, config_name: str) -> dict[str, Any]:
    """What the fleet of an EndpointConfig runs: its first variant's model and model package."""
    config = backend.endpoint_configs.get(config_name)
    variant = config.production_variants[0] if config and config.production_variants else {}
    model = backend._models.get(variant.get("ModelName", ""))
    containers = (model.containers or [model.primary_container]) if model else []
    package = next((c.get("ModelPackageName") for c in containers if c and c.get("ModelPackageName")), None)
    version = None
    if package and package.rsplit("/", 1)[-1].isdigit():
        version = int(package.rsplit("/", 1)[-1])
    return {
        "endpoint_config_name": config_name,
        "variant_name": variant.get("VariantName"),
        "model_name": variant.get("ModelName"),
        "model_package_arn": package,
        "version": version,
    }


def answer(account_id: str, region: str, name: str) -> dict[str, Any]:
    """What the endpoint's serving fleet answers to one request (the body of ``InvokeEndpoint``).

    AWS answers an endpoint it cannot route to with ValidationError "Endpoint <name> of account
    <account> not found." (seen for deleted endpoints:
    https://github.com/aws/amazon-sagemaker-examples/issues/559). The wording for a ``Creating``
    endpoint is not documented; the emulator gives the same error (no fleet serves it yet).
    """
    tick()
    backend = sagemaker_backends[account_id][region]
    with clock.LOCK:
        endpoint = backend.endpoints.get(name)
        if endpoint is None or endpoint.endpoint_status == "Creating":
            raise RuntimeValidationError(f"Endpoint {name} of account {account_id} not found.")
        result = _served_by(backend, _route(endpoint))
        result["served_at"] = time.time()  # under the lock: no phase can begin between routing and this
    return result


def invoke_endpoint(self: SageMakerRuntimeResponse) -> tuple[int, dict[str, str], str]:
    result = answer(self.current_account, self.region, self.path.split("/")[2])
    headers = {"Content-Type": "application/json"}
    if result["variant_name"]:
        headers["x-Amzn-Invoked-Production-Variant"] = result["variant_name"]
    return 200, headers, json.dumps(result)


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
    SageMakerRuntimeResponse.invoke_endpoint = invoke_endpoint  # type: ignore[assignment,method-assign]
