"""Measuring recognizers: metrics (pure functions), the benchmark harness and reports.

>>> from segocr.evaluation import character_error_rate
>>> character_error_rate(["AB12"], ["AB13"])
0.25
"""

from segocr.evaluation.harness import (
    BenchmarkResult,
    Metrics,
    ModelResult,
    SampleFailure,
    evaluate,
    score,
)
from segocr.evaluation.metrics import (
    bootstrap_ci,
    char_accuracy,
    character_error_rate,
    confusion_pairs,
    expected_calibration_error,
    plate_accuracy,
    risk_coverage,
    segmentation_attribution,
)
from segocr.evaluation.report import ReportFiles, format_table, results_frame, write_report

__all__ = [
    "BenchmarkResult",
    "Metrics",
    "ModelResult",
    "ReportFiles",
    "SampleFailure",
    "bootstrap_ci",
    "char_accuracy",
    "character_error_rate",
    "confusion_pairs",
    "evaluate",
    "expected_calibration_error",
    "format_table",
    "plate_accuracy",
    "results_frame",
    "risk_coverage",
    "score",
    "segmentation_attribution",
    "write_report",
]
