"""The deployment ledger (docs/contracts.md): append-only writes and the point-in-time query.

Works with a low-level DynamoDB client (injected), so the `mlops` CLI can reuse ``served_at``,
``history`` and ``endpoint_id`` with its own client. No AWS import here.

    "Which version served endpoint X at time T":
        Query(endpoint_id = X AND at <= T, ScanIndexForward=False, Limit=1) -> serving_version
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from deployer.models import LedgerEntry

RECENT_ITEMS = 25  # enough history for one reconcile decision, still one Query call
MAX_COLLISIONS = 10
_NUMBER_FIELDS = frozenset({"version", "previous_version", "serving_version"})
_FIELDS = {f.name for f in dataclasses.fields(LedgerEntry)}


def endpoint_id(account: str, region: str, endpoint: str) -> str:
    return f"{account}/{region}/{endpoint}"


def format_at(moment: datetime) -> str:
    """UTC ISO-8601 with microseconds and Z: 2026-11-20T10:00:00.000000Z (sorts as text)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_at(text: str) -> datetime:
    """Accepts the ledger's own format and ordinary ISO-8601 (``2026-11-20T10:00:00Z``, offsets)."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- (de)serialisation of the low-level AttributeValue format -----------------------------------


def to_item(entry: LedgerEntry) -> dict[str, Any]:
    return {key: _attr(value) for key, value in entry.to_dict().items()}


def from_item(item: dict[str, Any]) -> LedgerEntry:
    values = {key: _value(attr) for key, attr in item.items() if key in _FIELDS}
    for key in _NUMBER_FIELDS:
        if values.get(key) is not None:
            values[key] = int(values[key])
    return LedgerEntry(**values)


def _attr(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, dict):
        return {"M": {str(k): _attr(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [_attr(v) for v in value]}
    raise TypeError(f"cannot store {type(value).__name__} in the ledger")


def _value(attr: dict[str, Any]) -> Any:
    ((kind, value),) = attr.items()
    if kind == "S":
        return value
    if kind == "N":
        number = float(value)
        return int(number) if number.is_integer() else number
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: _value(v) for k, v in value.items()}
    if kind == "L":
        return [_value(v) for v in value]
    raise TypeError(f"unexpected ledger attribute type {kind}")


# --- queries (shared with the CLI) ---------------------------------------------------------------


def served_at(client: Any, table: str, endpoint: str, at: datetime | str) -> LedgerEntry | None:
    """The newest ledger item of ``endpoint`` (an endpoint_id) at or before ``at``; one Query.

    Its ``serving_version`` / ``serving_package_arn`` answer "which version served X at T"
    (None there means the endpoint served something the deployer did not make). Returns None when
    the ledger has nothing that early.
    """
    moment = parse_at(at) if isinstance(at, str) else at
    response = client.query(
        TableName=table,
        KeyConditionExpression="endpoint_id = :e AND #at <= :t",
        ExpressionAttributeNames={"#at": "at"},
        ExpressionAttributeValues={":e": {"S": endpoint}, ":t": {"S": format_at(moment)}},
        ScanIndexForward=False,
        Limit=1,
    )
    items = response.get("Items", [])
    return from_item(items[0]) if items else None


def history(
    client: Any, table: str, endpoint: str, *, newest_first: bool = True, limit: int | None = None
) -> Iterator[LedgerEntry]:
    """Every ledger item of ``endpoint`` in time order (paginated Query)."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "endpoint_id = :e",
        "ExpressionAttributeValues": {":e": {"S": endpoint}},
        "ScanIndexForward": not newest_first,
    }
    if limit is not None:
        kwargs["Limit"] = limit
    returned = 0
    while True:
        response = client.query(**kwargs)
        for item in response.get("Items", []):
            yield from_item(item)
            returned += 1
            if limit is not None and returned >= limit:
                return
        if not response.get("LastEvaluatedKey"):
            return
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


# --- the deployer's writer ---------------------------------------------------------------------------


class Ledger:
    def __init__(self, client: Any, table: str, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._client = client
        self._table = table
        self._clock = clock

    def recent(self, endpoint: str, limit: int = RECENT_ITEMS) -> list[LedgerEntry]:
        """The newest ``limit`` items, newest first (one Query)."""
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="endpoint_id = :e",
            ExpressionAttributeValues={":e": {"S": endpoint}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [from_item(item) for item in response.get("Items", [])]

    def append(self, entry: LedgerEntry) -> LedgerEntry:
        """Write one item; ``at`` is now (plus a microsecond per collision)."""
        moment = self._clock()
        key = entry.endpoint_id or endpoint_id(entry.account, entry.region, entry.endpoint)
        for _ in range(MAX_COLLISIONS):
            stored = dataclasses.replace(entry, endpoint_id=key, at=format_at(moment))
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=to_item(stored),
                    ConditionExpression="attribute_not_exists(#at)",
                    ExpressionAttributeNames={"#at": "at"},
                )
                return stored
            except Exception as exc:  # the client's own exception class; no boto3 import here
                code = getattr(exc, "response", {}).get("Error", {}).get("Code")
                if code != "ConditionalCheckFailedException":
                    raise
                moment += timedelta(microseconds=1)
        raise RuntimeError(f"ledger: {MAX_COLLISIONS} collisions on {key} at {format_at(moment)}")


# --- what each version was approved as (issue 9, finding 6) ----------------------------------------

APPROVAL_PARTITION = "approval/"


@dataclasses.dataclass(frozen=True)
class ApprovalPin:
    """The inference specification a version had when the deployer first saw it approved."""

    package_arn: str
    inference_specification: str  # canonical JSON (deployer.admission.canonical_spec)
    fingerprint: str
    at: str
    event_id: str | None = None


def approval_key(package_arn: str) -> str:
    """Partition of a version's pin: ``approval/<package ARN>``. No endpoint id starts so, and the
    approver roles' PutItem is limited to their endpoints' partitions (dynamodb:LeadingKeys)."""
    return f"{APPROVAL_PARTITION}{package_arn}"


class ApprovalPins:
    """Pins in the ledger table: the oldest item of a version's partition is its pin (first write wins)."""

    def __init__(self, client: Any, table: str, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._client = client
        self._table = table
        self._clock = clock

    def get(self, package_arn: str) -> ApprovalPin | None:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="endpoint_id = :e",
            ExpressionAttributeValues={":e": {"S": approval_key(package_arn)}},
            ScanIndexForward=True,
            Limit=1,
        )
        items = response.get("Items", [])
        if not items:
            return None
        values = {key: _value(attr) for key, attr in items[0].items()}
        return ApprovalPin(
            package_arn=package_arn,
            inference_specification=str(values.get("inference_specification", "")),
            fingerprint=str(values.get("fingerprint", "")),
            at=str(values.get("at", "")),
            event_id=values.get("event_id"),
        )

    def record(self, package_arn: str, canonical: str, fingerprint: str, event_id: str | None) -> ApprovalPin:
        """Write a pin (callers write only when :meth:`get` found none; the oldest one counts)."""
        pin = ApprovalPin(package_arn, canonical, fingerprint, format_at(self._clock()), event_id)
        self._client.put_item(
            TableName=self._table,
            Item={
                "endpoint_id": {"S": approval_key(package_arn)},
                "at": {"S": pin.at},
                "model_package_arn": {"S": package_arn},
                "inference_specification": {"S": canonical},
                "fingerprint": {"S": fingerprint},
                **({"event_id": {"S": event_id}} if event_id else {}),
            },
            ConditionExpression="attribute_not_exists(#at)",
            ExpressionAttributeNames={"#at": "at"},
        )
        return pin
