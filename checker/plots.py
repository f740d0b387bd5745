"""Small pictures for the HTML report, drawn offline with matplotlib.

Every function takes plain data from :func:`nncheck.reports.report_dict`
(lists, nested lists, the strings ``"nan"``/``"inf"`` for non-finite
values) and returns a ``data:image/png;base64,...`` URI to inline in an
``<img>``, or ``None`` when there is nothing sensible to draw. Drawing never
raises: a picture is a bonus, never a reason for a report to fail.

matplotlib is used through :class:`~matplotlib.figure.Figure` and the Agg
canvas directly, never ``pyplot``, so rendering a report changes no global
matplotlib state, opens no window and needs no display.
"""
from __future__ import annotations

import base64
import io
import math
from typing import Any

WIDTH_PX, HEIGHT_PX, DPI = 600, 300, 80
MAX_SERIES = 8          # lines per panel
MAX_PANELS = 3          # panels per figure
MAX_POINTS = 2000       # points per line (longer curves are subsampled)


def _float(v: Any) -> float:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)          # "nan", "inf", "-inf" as written by to_jsonable
        except ValueError:
            return math.nan
    return math.nan


def _series(value: Any) -> list[float] | None:
    """A list of numbers (at least one finite), or None."""
    if not isinstance(value, (list, tuple)) or not value:
        return None
    if any(isinstance(v, (list, tuple, dict)) for v in value):
        return None
    ys = [_float(v) for v in value]
    if not any(math.isfinite(y) for y in ys):
        return None
    if len(ys) > MAX_POINTS:
        step = math.ceil(len(ys) / MAX_POINTS)
        ys = ys[::step]
    return ys


def curve_panels(curves: Any) -> dict[str, dict[str, list[float]]]:
    """Normalise curves to ``{metric: {arm: values}}``.

    Accepts nested dicts of lists (``{"student": {"val_accuracy": [...]},
    "reference": {...}}``: one panel per metric every arm has, or failing
    that, every metric any arm has) and flat dicts of lists (``{"xavier":
    [...], "default": [...]}``: one panel, one line per arm).
    """
    if not isinstance(curves, dict):
        return {}
    flat = {str(k): s for k, v in curves.items() if (s := _series(v)) is not None}
    nested = {str(k): {str(m): s for m, mv in v.items() if (s := _series(mv)) is not None}
              for k, v in curves.items() if isinstance(v, dict)}
    nested = {k: v for k, v in nested.items() if v}
    panels: dict[str, dict[str, list[float]]] = {}
    if nested:
        metric_sets = [set(v) for v in nested.values()]
        common = set.intersection(*metric_sets)
        order: list[str] = []
        for v in nested.values():
            order.extend(m for m in v if m not in order)
        metrics = [m for m in order if m in common] or order
        for m in metrics[:MAX_PANELS]:
            panels[m] = {arm: v[m] for arm, v in nested.items() if m in v}
    if flat:
        panels[""] = flat
    for k in list(panels):
        panels[k] = dict(list(panels[k].items())[:MAX_SERIES])
    return dict(list(panels.items())[:MAX_PANELS])


def _label(name: str) -> str:
    return name.replace("_", " ").strip()


def _to_data_uri(fig) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(width_px: int = WIDTH_PX, height_px: int = HEIGHT_PX):
    from matplotlib.figure import Figure

    return Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, layout="constrained")


_ARM_LABELS = {"student": "yours"}
_REFERENCE_NAMES = {"reference", "ref", "expected", "baseline", "default", "sgd", "none", "no_l2"}


def curves_png(curves: Any, title: str = "") -> str | None:
    """Line plots of ``curves`` (see :func:`curve_panels`); None if nothing to draw."""
    try:
        from matplotlib.ticker import MaxNLocator

        panels = curve_panels(curves)
        if not panels:
            return None
        fig = _figure(WIDTH_PX if len(panels) < 3 else 720, HEIGHT_PX)
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, (metric, arms) in zip(axes, panels.items()):
            for arm, ys in arms.items():
                xs = list(range(1, len(ys) + 1))
                dashed = arm.lower() in _REFERENCE_NAMES
                ax.plot(xs, ys, linestyle="--" if dashed else "-", marker="o" if len(ys) <= 30 else None,
                        markersize=3, linewidth=1.6, label=_ARM_LABELS.get(arm, _label(arm)) or "value")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("epoch" if all(len(v) <= 1000 for v in arms.values()) else "step")
            if metric:
                ax.set_title(_label(metric), fontsize=10)
            ax.grid(True, alpha=0.3)
            ax.tick_params(labelsize=8)
            if len(arms) > 1:
                ax.legend(fontsize=8)
        if title:
            fig.suptitle(title, fontsize=11)
        return _to_data_uri(fig)
    except Exception:  # noqa: BLE001 - a picture must never break a report
        return None


def _matrix(value: Any) -> list[list[float]] | None:
    if not isinstance(value, list) or not value:
        return None
    if all(not isinstance(v, (list, tuple, dict)) for v in value):
        rows = [[_float(v) for v in value]]
    elif all(isinstance(r, list) and r and all(not isinstance(v, (list, dict)) for v in r) for r in value):
        rows = [[_float(v) for v in r] for r in value]
        if len({len(r) for r in rows}) != 1:
            return None
    else:
        return None
    return rows


def heatmap_png(rel_error_map: Any, title: str = "relative error") -> str | None:
    """A heatmap of a 1-D or 2-D map of relative errors in [0, 1]; None if not such a map."""
    try:
        rows = _matrix(rel_error_map)
        if rows is None:
            return None
        import numpy as np

        arr = np.array(rows, dtype=float)
        arr = np.where(np.isfinite(arr), arr, 1.0)
        n_rows, n_cols = arr.shape
        fig = _figure()
        ax = fig.subplots()
        im = ax.imshow(arr, cmap="magma_r", vmin=0.0, vmax=max(1.0, float(arr.max())),
                       aspect="auto" if n_rows == 1 or n_cols / max(n_rows, 1) > 4 else "equal",
                       interpolation="nearest")
        cb = fig.colorbar(im, ax=ax, shrink=0.9)
        cb.ax.tick_params(labelsize=8)
        cb.set_label("relative error", fontsize=9)
        ax.set_xlabel("column" if n_rows > 1 else "entry", fontsize=9)
        ax.set_ylabel("row" if n_rows > 1 else "", fontsize=9)
        if n_rows == 1:
            ax.set_yticks([])
        ax.tick_params(labelsize=8)
        ax.set_title(title, fontsize=10)
        return _to_data_uri(fig)
    except Exception:  # noqa: BLE001
        return None
