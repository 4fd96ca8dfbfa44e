"""Tables and plots of a cross-validated run: CSV text, confusion matrices and their PNG.

Files are written atomically (:mod:`hf_motion.fileio`), so an interrupted run never leaves half a
CSV or an unreadable image for a later step to trip on.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["csv_text", "format_cell", "write_csv", "confusion_counts", "plot_confusion"]


def format_cell(value: Any) -> Any:
    """Floats with 6 significant digits (what the CSVs hold); other values unchanged."""
    return f"{value:.6g}" if isinstance(value, float) else value


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A CSV document with ``header`` and ``rows`` (floats formatted by :func:`format_cell`)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[format_cell(v) for v in row] for row in rows])
    return buf.getvalue()


def write_csv(path: str | os.PathLike, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """:func:`csv_text` written atomically to ``path``."""
    from .fileio import atomic_write_text

    atomic_write_text(path, csv_text(header, rows))


def confusion_counts(truth: Sequence[str], pred: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """``(C, C)`` counts, rows = truth, columns = prediction, in the order of ``classes``."""
    from sklearn.metrics import confusion_matrix

    if not len(truth):
        return np.zeros((len(classes), len(classes)), dtype=np.int64)
    return confusion_matrix(list(truth), list(pred), labels=list(classes)).astype(np.int64)


def plot_confusion(task: str, classes: Sequence[str], matrices: Mapping[str, np.ndarray], path: str | os.PathLike) -> None:
    """One panel per system: row-normalised colours, counts written in the cells; saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .fileio import atomic_write_bytes

    classes = list(classes)
    n = len(matrices)
    size = max(3.2, 0.5 * len(classes) + 1.6)
    fig, axes = plt.subplots(1, n, figsize=(size * n, size + 1.2), squeeze=False)
    for ax, (system, m) in zip(axes[0], matrices.items()):
        rows = m.sum(axis=1, keepdims=True)
        share = np.divide(m, rows, out=np.zeros(m.shape, dtype=np.float64), where=rows > 0)
        ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                if m[i, j]:
                    ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=7, color="white" if share[i, j] > 0.6 else "black")
        acc = np.trace(m) / max(1, m.sum())
        ax.set_title(f"{system}\naccuracy {acc:.2f} ({m.sum()} clips)", fontsize=9)
        ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(classes)), classes, fontsize=7)
        ax.set_xlabel("predicted", fontsize=8)
    axes[0][0].set_ylabel("true", fontsize=8)
    fig.suptitle(f"{task}: out-of-fold predictions pooled over folds", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
