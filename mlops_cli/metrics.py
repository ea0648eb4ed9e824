"""Model quality metrics from a version's ModelMetrics.ModelQuality.Statistics report (JSON in S3)."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import urlparse


def flatten_report(report: Any) -> dict[str, float]:
    """Flatten a SageMaker evaluation report to metric name -> value.

    Understands `{"regression_metrics": {"mse": {"value": 1.2, "standard_deviation": ..}}}`,
    `{"binary_classification_metrics": {"auc": {"value": 0.9}}}` and plain `{"<section>": {"name": 0.9}}`
    or `{"name": 0.9}`. Entries without a numeric value (confusion matrices, curves) are skipped. When
    two sections use the same metric name, both are kept as `<section>.<name>`.
    """
    if not isinstance(report, dict):
        return {}
    found: list[tuple[str, str, float]] = []
    for section, body in report.items():
        if _number(body) is not None:
            found.append(("", str(section), float(body)))
        elif isinstance(body, dict):
            for name, entry in body.items():
                value = _number(entry.get("value") if isinstance(entry, dict) else entry)
                if value is not None:
                    found.append((str(section), str(name), value))
    counts: dict[str, int] = {}
    for _, name, _ in found:
        counts[name] = counts.get(name, 0) + 1
    return {
        (f"{section}.{name}" if counts[name] > 1 and section else name): value
        for section, name, value in found
    }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def statistics_uri(package: dict[str, Any]) -> str | None:
    quality = (package.get("ModelMetrics") or {}).get("ModelQuality") or {}
    uri = (quality.get("Statistics") or {}).get("S3Uri")
    return str(uri) if uri else None


def read_metrics(s3: Any, uri: str | None) -> tuple[dict[str, float], str | None]:
    """(metrics, problem). A missing or unreadable report gives empty metrics and a short note, never an error."""
    if not uri:
        return {}, None
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        return {}, f"not an S3 URI: {uri}"
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        body = s3.get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"].read()
    except ClientError as exc:
        return {}, f"cannot read {uri}: {exc.response.get('Error', {}).get('Code', 'error')}"
    except BotoCoreError as exc:
        return {}, f"cannot read {uri}: {exc}"
    try:
        return flatten_report(json.loads(body)), None
    except (ValueError, UnicodeDecodeError):
        return {}, f"{uri} is not JSON"
