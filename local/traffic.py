"""A bounded load generator for an endpoint on the local emulator, reporting per rollout phase.

``Traffic`` calls ``InvokeEndpoint`` from ``concurrency`` threads until it has sent ``max_requests``
requests, ``time_limit`` seconds have passed, or :meth:`Traffic.stop` is called, whichever comes
first. It only talks to ``localhost`` (it refuses any other endpoint URL): it is a measuring tool for
the emulator, not a load test for AWS.

A watcher polls ``DescribeEndpoint`` meanwhile and records each phase of the update from the
endpoint's ``PendingDeploymentSummary`` (``VariantStatus``: status, message and ``StartTime``), plus the
moment the endpoint is ``InService`` again. Each answer carries the emulator's ``served_at`` time, so
every request is counted in the phase that was running when it was served (no guessing at phase
boundaries from the client's clock). An error is counted in the phase that ran when its request was
sent: the emulator changes phase atomically, so a request that failed was answered before any later
phase began (and one sent earlier but answered later would have succeeded).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_MESSAGE = re.compile(r"^(?P<label>[a-z_]+(?: \d+)?): (?P<share>[\d.]+)% of traffic on the new fleet")

ClientFactory = Callable[[str], Any]  # service name -> boto3 client


@dataclass
class PhaseMark:
    """A phase the watcher saw: when it started (emulator time) and the share configured for it."""

    label: str
    start: float
    configured: float | None  # percent of traffic on the new version, None when not known
    status: str = ""
    message: str = ""  # the VariantStatus StatusMessage it was read from


@dataclass
class PhaseReport:
    label: str
    configured: float | None
    requests: int = 0
    errors: int = 0
    versions: Counter[int | None] = field(default_factory=Counter)

    def share(self, version: int | None) -> float:
        served = sum(self.versions.values())
        return 100.0 * self.versions[version] / served if served else 0.0


@dataclass
class TrafficReport:
    endpoint: str
    new_version: int | None
    phases: list[PhaseReport]
    error_codes: Counter[str]
    seconds: float

    @property
    def requests(self) -> int:
        return sum(p.requests for p in self.phases)

    @property
    def errors(self) -> int:
        return sum(p.errors for p in self.phases)

    def phase(self, label: str) -> PhaseReport:
        return next(p for p in self.phases if p.label == label)

    def lines(self) -> list[str]:
        """``N requests, 0 errors; canary phase: 24.7% on v2 (configured 25%)``, one per phase."""
        out = []
        new = self.new_version
        for p in self.phases:
            served = f"{p.share(new):.1f}% on v{new}" if new is not None else "no version served"
            configured = ""
            if p.configured is not None:
                configured = f" (configured {p.configured:g}%"
                if 0 < p.configured < 100 and p.requests:
                    # 95% interval of a share measured on n requests: 1.96 * sqrt(p(1-p)/n)
                    q = p.configured / 100
                    configured += f"; +/-{196 * (q * (1 - q) / p.requests) ** 0.5:.1f} points at 95%"
                configured += ")"
            errors = f"{p.errors} errors" + (
                f" ({', '.join(sorted(self.error_codes))})" if p.errors and self.error_codes else ""
            )
            out.append(f"{p.requests} requests, {errors}; {p.label} phase: {served}{configured}")
        return out


def _epoch(moment: Any) -> float:
    return moment.timestamp() if isinstance(moment, datetime) else float(moment)


class Traffic:
    """Concurrent, bounded ``InvokeEndpoint`` load with a phase watcher. Use as a context manager."""

    def __init__(
        self,
        client: ClientFactory,
        endpoint: str,
        *,
        endpoint_url: str,
        concurrency: int = 4,
        max_requests: int = 5000,
        time_limit: float = 60.0,
        rate: float | None = None,
        poll_interval: float = 0.05,
    ) -> None:
        host = urlparse(endpoint_url).hostname
        if host not in LOCAL_HOSTS:
            raise ValueError(f"the load generator only calls the local emulator, not {endpoint_url!r}")
        if concurrency < 1 or max_requests < 1 or time_limit <= 0:
            raise ValueError("concurrency, max_requests and time_limit must be positive")
        self.client = client
        self.endpoint = endpoint
        self.concurrency = concurrency
        self.max_requests = max_requests
        self.time_limit = time_limit
        self.rate = rate  # requests per second over all threads (None: as fast as answered)
        self.poll_interval = poll_interval
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sent = 0
        self._samples: list[tuple[float, int | None, str | None]] = []  # (time, version, error code)
        self._marks: list[PhaseMark] = []
        self._configs: dict[str, int | None] = {}
        self._new_config: str | None = None
        self._threads: list[threading.Thread] = []
        self._started = 0.0

    # --- running -----------------------------------------------------------------------------

    def start(self) -> Traffic:
        self._started = time.time()
        self._marks.append(PhaseMark("before", 0.0, 0.0))
        self._threads = [threading.Thread(target=self._watch, name="traffic-watch", daemon=True)]
        self._threads += [
            threading.Thread(target=self._work, name=f"traffic-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> TrafficReport:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        return self.report()

    def __enter__(self) -> Traffic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _done(self) -> bool:
        return self._stop.is_set() or time.time() - self._started > self.time_limit

    def _work(self) -> None:
        runtime = self.client("sagemaker-runtime")
        pause = self.concurrency / self.rate if self.rate else 0.0
        while not self._done():
            with self._lock:
                if self._sent >= self.max_requests:
                    return
                self._sent += 1
            if pause:
                self._stop.wait(pause)
            sample: tuple[float, int | None, str | None]
            sent = time.time()
            try:
                response = runtime.invoke_endpoint(
                    EndpointName=self.endpoint, Body=b"1.0,2.0", ContentType="text/csv"
                )
                body = json.loads(response["Body"].read())
                sample = (float(body["served_at"]), body.get("version"), None)
                with self._lock:
                    self._configs.setdefault(body.get("endpoint_config_name"), body.get("version"))
            except ClientError as exc:
                sample = (sent, None, exc.response.get("Error", {}).get("Code", "ClientError"))
            except BotoCoreError as exc:
                sample = (sent, None, type(exc).__name__)
            with self._lock:
                self._samples.append(sample)

    def _watch(self) -> None:
        sagemaker = self.client("sagemaker")
        while not self._done():
            # a missing endpoint has no phase; the workers count the errors
            with contextlib.suppress(ClientError, BotoCoreError):
                self._observe(sagemaker.describe_endpoint(EndpointName=self.endpoint))
            self._stop.wait(self.poll_interval)
        # the very last state (an update may have finished between two polls)
        with contextlib.suppress(ClientError, BotoCoreError):
            self._observe(sagemaker.describe_endpoint(EndpointName=self.endpoint))

    def _observe(self, endpoint: dict[str, Any]) -> None:
        status = endpoint["EndpointStatus"]
        pending = endpoint.get("PendingDeploymentSummary") or {}
        variants = pending.get("ProductionVariants") or []
        variant_status = (variants[0].get("VariantStatus") or [{}])[0] if variants else {}
        match = _MESSAGE.match(variant_status.get("StatusMessage", ""))
        mark: PhaseMark | None = None
        with self._lock:
            last = self._marks[-1]
            if pending.get("EndpointConfigName"):
                self._new_config = pending["EndpointConfigName"]
            created = _epoch(endpoint["CreationTime"])
            if status == "Creating" and last.label == "before":
                mark = PhaseMark("creating", created, None, status)
            elif status == "InService" and last.label == "before" and created > self._started:
                # created while we ran, but Creating was over before the first poll saw it
                self._marks.append(PhaseMark("creating", created, None, "Creating"))
                mark = PhaseMark("in service", _epoch(endpoint["LastModifiedTime"]), None, status)
            elif match and variant_status.get("StartTime"):
                label = match["label"].replace("_", " ")
                if status == "RollingBack":
                    label = "rollback" if label == "rolling back" else f"rollback {label}"
                mark = PhaseMark(
                    label,
                    _epoch(variant_status["StartTime"]),
                    float(match["share"]),
                    status,
                    variant_status["StatusMessage"],
                )
            elif status == "InService" and last.label != "before" and last.status != "InService":
                if last.label == "creating":
                    label, share = "in service", None
                elif endpoint.get("EndpointConfigName") == self._new_config:
                    label, share = "after update", 100.0
                else:
                    label, share = "after rollback", 0.0
                mark = PhaseMark(label, _epoch(endpoint["LastModifiedTime"]), share, status)
            if mark is not None and mark.start > last.start:
                self._marks.append(mark)

    # --- results -----------------------------------------------------------------------------

    def report(self) -> TrafficReport:
        with self._lock:
            marks = list(self._marks)
            samples = sorted(self._samples)
            new_config = self._new_config
        new_version = self._version_of(new_config) if new_config else None
        reports = [PhaseReport(m.label, m.configured) for m in marks]
        starts = [m.start for m in marks]
        codes: Counter[str] = Counter()
        index = 0
        for moment, version, error in samples:
            while index + 1 < len(starts) and starts[index + 1] <= moment:
                index += 1
            phase = reports[index]
            phase.requests += 1
            if error:
                phase.errors += 1
                codes[error] += 1
            else:
                phase.versions[version] += 1
        if new_config is None:  # no update seen (a create): report the version that served
            new_version = max((v for p in reports for v in p.versions if v is not None), default=None)
        return TrafficReport(self.endpoint, new_version, reports, codes, time.time() - self._started)

    def _version_of(self, config_name: str) -> int | None:
        """The model package version an EndpointConfig deploys (config -> model -> package ARN)."""
        with self._lock:
            if config_name in self._configs:
                return self._configs[config_name]
        sagemaker = self.client("sagemaker")
        try:
            config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
            model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        except (ClientError, BotoCoreError):
            return None
        containers = model.get("Containers") or [model.get("PrimaryContainer") or {}]
        package = containers[0].get("ModelPackageName", "")
        tail = package.rsplit("/", 1)[-1]
        return int(tail) if tail.isdigit() else None

    def served_in_current_phase(self) -> int:
        """Requests served since the last phase the watcher saw began (for clock-gated tests)."""
        with self._lock:
            start = self._marks[-1].start
            return sum(1 for moment, _, error in self._samples if error is None and moment >= start)

    def current_phase(self) -> PhaseMark:
        with self._lock:
            return self._marks[-1]
