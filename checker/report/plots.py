"""Small pictures for the HTML report, drawn offline with matplotlib.

Every function takes plain data from :func:`nncheck.report.text.report_dict`
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
PALETTE = 64            # colours in the quantised PNG


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
    """Normalise curves to ``{metric: {arm: values}}`` (``""`` is the main, unnamed metric).

    Accepts

    * nested dicts of lists, ``{"student": {"val_accuracy": [...]},
      "reference": {...}}``: one panel per metric every arm has (failing
      that, per metric any arm has), one line per arm;
    * flat dicts of lists, ``{"xavier": [...], "default": [...]}``: one
      panel, one line per arm. A key ``<arm>_<metric>`` where ``<arm>`` is
      itself a key (``{"option": [...], "baseline": [...],
      "option_train_loss": [...], "baseline_train_loss": [...]}``) goes to
      a panel of its own, ``train_loss``.
    """
    if not isinstance(curves, dict):
        return {}
    flat = {str(k): s for k, v in curves.items() if (s := _series(v)) is not None}
    nested = {str(k): {str(m): s for m, mv in v.items() if (s := _series(mv)) is not None}
              for k, v in curves.items() if isinstance(v, dict)}
    nested = {k: v for k, v in nested.items() if v}
    panels: dict[str, dict[str, list[float]]] = {}
    if flat:
        groups: dict[str, dict[str, list[float]]] = {}
        for k in flat:
            prefixes = [a for a in flat if a != k and k.startswith(a + "_")]
            if prefixes:
                arm = max(prefixes, key=len)
                groups.setdefault(k[len(arm) + 1:], {})[arm] = k
        # a suffix is a metric only when several arms have it ("option_loss", "baseline_loss")
        groups = {m: g for m, g in groups.items() if len(g) >= 2}
        grouped = {k for g in groups.values() for k in g.values()}
        panels[""] = {k: ys for k, ys in flat.items() if k not in grouped}
        for m, g in groups.items():
            panels[m] = {arm: flat[k] for arm, k in g.items()}
    if nested:
        metric_sets = [set(v) for v in nested.values()]
        common = set.intersection(*metric_sets)
        order: list[str] = []
        for v in nested.values():
            order.extend(m for m in v if m not in order)
        metrics = [m for m in order if m in common] or order
        for m in metrics:
            panels.setdefault(m, {}).update({arm: v[m] for arm, v in nested.items() if m in v})
    for k in list(panels):
        panels[k] = dict(list(panels[k].items())[:MAX_SERIES])
    return dict(list(panels.items())[:MAX_PANELS])


def _label(name: str) -> str:
    return name.replace("_", " ").strip()


def _to_data_uri(fig) -> str:
    """The figure as a PNG data URI, quantised to a small palette (a third of the bytes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    img = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    img = img.convert("RGB").quantize(colors=PALETTE, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(width_px: int = WIDTH_PX, height_px: int = HEIGHT_PX, suptitle: bool = False):
    """A figure with fixed margins (constrained layout would double the drawing time)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.15, top=0.80 if suptitle else 0.88, wspace=0.28)
    return fig


_ARM_LABELS = {"student": "yours"}
_REFERENCE_NAMES = {"reference", "ref", "expected", "baseline", "default", "sgd", "none", "no_l2"}


def short_metric(text: str) -> str:
    """``"training cross-entropy per step (minibatch mean); final: ..."`` -> ``"training cross-entropy per step"``."""
    text = str(text or "")
    for sep in (";", " (", ":"):
        text = text.split(sep, 1)[0]
    return text.strip()


def curves_png(curves: Any, title: str = "", labels: dict | None = None, metric: str = "") -> str | None:
    """Line plots of ``curves`` (see :func:`curve_panels`); None if nothing to draw.

    ``labels`` maps arm names to legend text (``{"option": "AdamDense (...)"}``);
    ``metric`` names the main panel (``details["metric"]`` of an experiment).
    Baseline-like arms (reference, baseline, default, sgd, none) are dashed.
    """
    try:
        import textwrap

        from matplotlib.ticker import MaxNLocator

        panels = curve_panels(curves)
        if not panels:
            return None
        labels = {str(k): str(v) for k, v in (labels or {}).items()}
        fig = _figure(WIDTH_PX if len(panels) < 3 else 720, HEIGHT_PX, suptitle=bool(title))
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        metric_name = short_metric(metric)
        unit = next((u for u in ("step", "epoch") if u in metric_name.lower()), "")
        for ax, (name, arms) in zip(axes, panels.items()):
            longest = max(len(v) for v in arms.values())
            for arm, ys in arms.items():
                xs = list(range(1, len(ys) + 1))
                dashed = arm.lower() in _REFERENCE_NAMES
                label = labels.get(arm) or _ARM_LABELS.get(arm) or _label(arm) or "value"
                ax.plot(xs, ys, linestyle="--" if dashed else "-", marker="o" if len(ys) <= 30 else None,
                        markersize=3, linewidth=1.6, label=textwrap.shorten(label, 60, placeholder="..."))
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel(unit or ("epoch" if longest <= 50 else "step"), fontsize=9)
            panel_title = _label(name) if name else metric_name
            if panel_title:
                ax.set_title(textwrap.fill(panel_title, 40 if len(panels) > 1 else 70), fontsize=9)
            ax.grid(True, alpha=0.3)
            ax.tick_params(labelsize=8)
            if len(arms) > 1:
                ax.legend(fontsize=7)
        if title:
            fig.suptitle(title, fontsize=10)
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
