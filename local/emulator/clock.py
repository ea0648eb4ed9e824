"""The emulator's clock and the durations of endpoint status transitions.

Endpoint transitions (Creating -> InService, Updating -> InService, RollingBack -> InService) are
scheduled on this clock and applied lazily: on every SageMaker endpoint call (Create/Update/Describe/
List/Delete), on :func:`advance`, and, when a ticker runs (the server does that), every ``interval``
seconds. Two modes:

- manual (the default, for tests): time only moves when :func:`advance` is called, so a test sees
  ``Creating`` until it advances, whatever the machine's speed;
- realtime (the server): time is ``time.monotonic()`` plus whatever :func:`advance` added.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

LOCK = threading.RLock()


@dataclass
class Timing:
    creating_seconds: float = 1.0
    updating_seconds: float = 1.0
    rolling_back_seconds: float = 1.0
    realtime: bool = False
    # DeploymentConfig waits (canary/linear WaitIntervalInSeconds, TerminationWaitInSeconds, rolling
    # WaitIntervalInSeconds) take wait / speed emulator seconds: speed 100 plays a 300 s canary in 3 s.
    speed: float = 1.0


TIMING = Timing()
_offset = 0.0


def now() -> float:
    """Seconds on the emulator clock (only differences matter)."""
    base = time.monotonic() if TIMING.realtime else 0.0
    return base + _offset


def shift(seconds: float) -> None:
    """Move the clock forward without applying transitions (use ``advance`` for that)."""
    global _offset
    if seconds < 0:
        raise ValueError("the emulator clock cannot go backwards")
    with LOCK:
        _offset += seconds


def configure(
    *,
    creating_seconds: float | None = None,
    updating_seconds: float | None = None,
    rolling_back_seconds: float | None = None,
    realtime: bool | None = None,
    speed: float | None = None,
) -> Timing:
    """Change transition durations and/or the clock mode; returns the resulting settings."""
    global _offset
    with LOCK:
        for name, value in (
            ("creating_seconds", creating_seconds),
            ("updating_seconds", updating_seconds),
            ("rolling_back_seconds", rolling_back_seconds),
        ):
            if value is not None:
                if value < 0:
                    raise ValueError(f"{name} must be >= 0, got {value}")
                setattr(TIMING, name, float(value))
        if speed is not None:
            if speed <= 0:
                raise ValueError(f"speed must be > 0, got {speed}")
            TIMING.speed = float(speed)
        if realtime is not None and realtime != TIMING.realtime:
            current = now()
            TIMING.realtime = realtime
            # keep the clock continuous across the switch
            _offset = current - (time.monotonic() if realtime else 0.0)
    return TIMING


def reset_clock() -> None:
    """Default durations, manual mode, clock at zero."""
    global _offset
    with LOCK:
        TIMING.creating_seconds = TIMING.updating_seconds = TIMING.rolling_back_seconds = 1.0
        TIMING.realtime = False
        TIMING.speed = 1.0
        _offset = 0.0
