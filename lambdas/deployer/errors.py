"""Domain errors. The adapters translate AWS errors into these; the service decides what to do."""

from __future__ import annotations


class DeployerError(Exception):
    """Base class; ``reason`` is a sentence meant for the ledger and the notification."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SettingsError(DeployerError):
    """The Lambda environment cannot be used at all (nothing can be recorded)."""


class MalformedEvent(DeployerError):
    """A trigger that is not one of the shapes in docs/contracts.md. Permanent."""


class PermanentError(DeployerError):
    """AWS refused the request for a reason a retry will not fix (validation, access denied)."""


class TransientError(DeployerError):
    """Throttling, 5xx or network trouble that survived the client's own retries: retry via SQS."""


class EndpointBusy(DeployerError):
    """SageMaker says the endpoint is being updated by someone else: look again later."""


class QuotaExceeded(TransientError):
    """A service quota stops the deployment now (``ResourceLimitExceeded``: blue/green needs a second
    fleet). Retried later and notified; never a verdict on the version."""
