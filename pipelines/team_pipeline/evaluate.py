"""Evaluate the trained XGBoost model on the held-out set and write the evaluation report.

Runs inside the SageMaker XGBoost container (processing step ``Evaluate``), which provides
``xgboost`` and ``numpy``. Inputs: ``/opt/ml/processing/model/model.tar.gz`` (the training job's
artifact) and ``/opt/ml/processing/test/*.csv`` (label in the first column, no header, the layout the
built-in XGBoost algorithm trains on). Output: ``/opt/ml/processing/evaluation/evaluation.json`` in
SageMaker's model quality format, attached to the model version as its model metrics; the pipeline's
condition reads ``binary_classification_metrics.auc.value``.

The metric functions are plain Python so they can be unit-tested without the container. The script
keeps to Python 3.8 (the container's interpreter is older than the project's): no ``zip(strict=)``,
no ``tarfile`` extraction filters.
"""

from __future__ import annotations

import csv
import json
import math
import tarfile
from collections.abc import Iterable, Sequence
from pathlib import Path

PROCESSING = Path("/opt/ml/processing")
CUTOFF = 0.5


def _same_length(labels: Sequence[int], scores: Sequence[float]) -> None:
    if len(labels) != len(scores):
        raise ValueError(f"{len(labels)} labels but {len(scores)} scores")


def auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties counted half). NaN if one class is missing."""
    positives = sum(1 for label in labels if label == 1)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    _same_length(labels, scores)
    ranked = sorted(zip(scores, labels), key=lambda pair: pair[0])  # noqa: B905 (checked above)
    rank_sum = 0.0
    index = 0
    while index < len(ranked):
        end = index
        while end + 1 < len(ranked) and ranked[end + 1][0] == ranked[index][0]:
            end += 1
        average_rank = (index + end) / 2 + 1  # ranks are 1-based; tied scores share their mean rank
        rank_sum += average_rank * sum(1 for _, label in ranked[index : end + 1] if label == 1)
        index = end + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def report(labels: Sequence[int], scores: Sequence[float], cutoff: float = CUTOFF) -> dict[str, object]:
    """The evaluation report in SageMaker's model quality JSON format (binary classification)."""
    predicted = [1 if score >= cutoff else 0 for score in scores]
    _same_length(labels, scores)
    pairs = list(zip(labels, predicted))  # noqa: B905 (checked above)
    tp = sum(1 for label, guess in pairs if label == 1 and guess == 1)
    tn = sum(1 for label, guess in pairs if label == 0 and guess == 0)
    fp = sum(1 for label, guess in pairs if label == 0 and guess == 1)
    fn = sum(1 for label, guess in pairs if label == 1 and guess == 0)

    def ratio(numerator: float, denominator: float) -> float:
        return numerator / denominator if denominator else math.nan

    precision = ratio(tp, tp + fp)
    recall = ratio(tp, tp + fn)
    values = {
        "auc": auc(labels, scores),
        "accuracy": ratio(tp + tn, len(pairs)),
        "precision": precision,
        "recall": recall,
        "f1": ratio(2 * precision * recall, precision + recall),
    }
    metrics: dict[str, object] = {
        name: {"value": value, "standard_deviation": "NaN"} for name, value in values.items()
    }
    metrics["confusion_matrix"] = {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    return {"binary_classification_metrics": metrics}


def read_test_set(paths: Iterable[Path]) -> tuple[list[int], list[list[float]]]:
    """Labels and feature rows from CSV files (label first, no header)."""
    labels: list[int] = []
    rows: list[list[float]] = []
    for path in sorted(paths):
        with path.open(newline="") as handle:
            for record in csv.reader(handle):
                if record:
                    labels.append(int(float(record[0])))
                    rows.append([float(value) for value in record[1:]])
    if not labels:
        raise SystemExit("no test records found under /opt/ml/processing/test")
    return labels, rows


def predict(model_dir: Path, rows: list[list[float]]) -> list[float]:  # pragma: no cover - container only
    import numpy
    import xgboost

    with tarfile.open(model_dir / "model.tar.gz") as archive:
        for member in archive.getmembers():
            if not member.isfile() or member.name.startswith("/") or ".." in Path(member.name).parts:
                raise SystemExit(f"unexpected entry in model.tar.gz: {member.name}")
        archive.extractall(model_dir)
    booster = xgboost.Booster()
    booster.load_model(str(model_dir / "xgboost-model"))
    return [float(score) for score in booster.predict(xgboost.DMatrix(numpy.asarray(rows)))]


def main(root: Path = PROCESSING) -> None:  # pragma: no cover - container only
    labels, rows = read_test_set((root / "test").glob("*.csv"))
    result = report(labels, predict(root / "model", rows))
    output = root / "evaluation"
    output.mkdir(parents=True, exist_ok=True)
    # NaN is written as the JSON token NaN, which SageMaker's JsonGet and model metrics accept.
    (output / "evaluation.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
