"""SNS notifications: one message per ledger transition, and one per input problem."""

from __future__ import annotations

import json
import logging
from typing import Any

from deployer.models import LedgerEntry

log = logging.getLogger(__name__)

SUBJECT_MAX = 100
_HEADLINES = {
    "in_progress": "deploying version {version}",
    "live": "version {version} is live",
    "rolled_back": "version {version} ROLLED BACK",
    "failed": "version {version} FAILED",
    "superseded": "version {version} superseded",
    "skipped": "nothing to deploy",
    "requested": "version {version} requested",
    "deleted": "retired endpoint DELETED",
}


def subject_for(entry: LedgerEntry) -> str:
    if entry.status == "skipped" and entry.version is not None:
        return _subject(f"[mlops] {entry.endpoint}: version {entry.version} deferred")
    template = _HEADLINES.get(entry.status, entry.status)
    if entry.version is None:  # about the endpoint, not a version (a refused deployment, a retired endpoint)
        template = template.replace("version {version} ", "")
    headline = template.format(version=entry.version)
    return _subject(f"[mlops] {entry.endpoint}: {headline}")


def message_for(entry: LedgerEntry) -> str:
    """Readable first lines (e-mail, chat), then the full ledger item as JSON (scripts)."""
    lines = [
        f"Endpoint {entry.endpoint} ({entry.account}, {entry.region}), group {entry.group}: {entry.status}.",
        f"Version: {entry.version if entry.version is not None else '-'} ({entry.model_package_arn or '-'})",
        f"Now serving: {_version(entry.serving_version)}; before: {_version(entry.previous_version)}",
        f"Approved by: {entry.approved_by or 'unknown'}"
        + (f" ({entry.approval_description})" if entry.approval_description else ""),
        f"Rollout: {json.dumps(entry.rollout, sort_keys=True) if entry.rollout else '-'}",
        f"Reason: {entry.reason or '-'}",
        "",
        json.dumps(entry.to_dict(), sort_keys=True, indent=2),
    ]
    return "\n".join(lines)


def _version(version: int | None) -> str:
    return f"version {version}" if version is not None else "unknown"


def _subject(text: str) -> str:
    # SNS subjects: printable ASCII, no newlines, at most 100 characters.
    clean = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)
    return clean if len(clean) <= SUBJECT_MAX else clean[: SUBJECT_MAX - 3] + "..."


class Notifier:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def transition(self, entry: LedgerEntry) -> None:
        self._publish(subject_for(entry), message_for(entry), entry.status)

    def problem(self, title: str, reason: str, **context: Any) -> None:
        body = {"problem": title, "reason": reason, **{k: v for k, v in context.items() if v is not None}}
        text = f"{title}: {reason}\n\n{json.dumps(body, sort_keys=True, indent=2, default=str)}"
        self._publish(_subject(f"[mlops] {title}"), text, "problem")

    def _publish(self, subject: str, message: str, kind: str) -> None:
        # A lost notification must not undo or repeat a deployment: the ledger already has the
        # transition. Log loudly and carry on.
        try:
            self._client.publish(
                TopicArn=self._topic_arn,
                Subject=subject,
                Message=message,
                MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}},
            )
        except Exception as exc:
            log.error(  # pragma: no mutate
                "notification not sent",  # pragma: no mutate
                extra={"subject": subject, "reason": str(exc)},  # pragma: no mutate
            )  # pragma: no mutate
