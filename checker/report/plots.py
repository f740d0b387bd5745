"""Small pictures for the HTML report: learning curves as SVG, heatmaps with matplotlib.

Every function takes plain data from :func:`nncheck.report.text.report_dict`
(lists, nested lists, the strings ``"nan"``/``"inf"`` for non-finite
values) and returns a data URI to inline in an ``<img>`` (an SVG for
learning curves, drawn by hand; a PNG for heatmaps), or ``None`` when there
is nothing sensible to draw. Drawing never
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


def _arm_label(arm: str, labels: dict) -> str:
    """A line's legend text: the caller's label, else "yours" for the student, else its name."""
    return labels.get(arm) or _ARM_LABELS.get(arm) or _label(arm) or "value"


def short_metric(text: str) -> str:
    """``"training cross-entropy per step (minibatch mean); final: ..."`` -> ``"training cross-entropy per step"``."""
    text = str(text or "")
    for sep in (";", " (", ":"):
        text = text.split(sep, 1)[0]
    return text.strip()


#: Line colours (matplotlib's "tab10", so the curves look like the heatmaps' and summary's figures).
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
#: Margins of a panel, in pixels: room for the y tick labels, the x label and the panel title.
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 26, 36


def _fmt(v: float) -> str:
    return f"{v:.3g}".replace("e-0", "e-").replace("e+0", "e")


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, n - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _panel_svg(out: list, x0: float, y0: float, w: float, h: float, title: str, unit: str,
               arms: dict, labels: dict) -> None:
    """One panel: frame, grid, ticks, one polyline per arm (NaNs break it), a legend."""
    from xml.sax.saxutils import escape

    pw, ph = w - LEFT - RIGHT, h - TOP - BOTTOM
    px, py = x0 + LEFT, y0 + TOP
    finite = [v for ys in arms.values() for v in ys if math.isfinite(v)]
    lo, hi = min(finite), max(finite)
    if hi - lo < 1e-12 * max(1.0, abs(hi)):
        lo, hi = lo - max(0.5, abs(lo) * 0.1), hi + max(0.5, abs(hi) * 0.1)
    pad = (hi - lo) * 0.06
    lo, hi = lo - pad, hi + pad
    longest = max(len(ys) for ys in arms.values())
    x_hi = max(2, longest)

    def X(i):  # 1-based index -> pixel
        return px + (i - 1) / (x_hi - 1) * pw

    def Y(v):
        return py + (hi - v) / (hi - lo) * ph

    out.append(f'<text x="{px + pw / 2:.1f}" y="{y0 + 16:.1f}" text-anchor="middle" font-size="12">'
               f'{escape(title)}</text>')
    out.append(f'<rect x="{px:.1f}" y="{py:.1f}" width="{pw:.1f}" height="{ph:.1f}" fill="none" stroke="#999"/>')
    for t in _ticks(lo, hi):
        if lo <= t <= hi:
            out.append(f'<line x1="{px:.1f}" x2="{px + pw:.1f}" y1="{Y(t):.1f}" y2="{Y(t):.1f}" stroke="#e4e4e4"/>'
                       f'<text x="{px - 5:.1f}" y="{Y(t) + 4:.1f}" text-anchor="end" font-size="10">{_fmt(t)}</text>')
    for t in _ticks(1, x_hi, 6):
        if t == int(t) and 1 <= t <= x_hi:
            out.append(f'<text x="{X(t):.1f}" y="{py + ph + 14:.1f}" text-anchor="middle" font-size="10">'
                       f'{int(t)}</text>')
    out.append(f'<text x="{px + pw / 2:.1f}" y="{py + ph + 30:.1f}" text-anchor="middle" font-size="11">'
               f'{escape(unit)}</text>')
    for k, (arm, ys) in enumerate(arms.items()):
        colour = COLOURS[k % len(COLOURS)]
        dash = ' stroke-dasharray="6 4"' if arm.lower() in _REFERENCE_NAMES else ""
        runs, run = [], []
        for i, v in enumerate(ys, 1):
            if math.isfinite(v):
                run.append(f"{X(i):.1f},{Y(v):.1f}")
            elif run:
                runs.append(run)
                run = []
        runs.append(run)
        for run in filter(None, runs):
            out.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="1.8"{dash}/>')
            if len(ys) <= 30:
                out.extend(f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.5" fill="{colour}"/>'
                           for p in run)
    if len(arms) > 1:
        _legend_svg(out, px, py, pw, ph, arms, labels, [(X(i), Y(v)) for ys in arms.values()
                                                           for i, v in enumerate(ys, 1) if math.isfinite(v)])


def _legend_svg(out: list, px, py, pw, ph, arms: dict, labels: dict, points: list) -> None:
    """The legend in the corner of the panel that covers the fewest data points."""
    import textwrap
    from xml.sax.saxutils import escape

    texts = [textwrap.shorten(_arm_label(a, labels), 60, placeholder="...")
             for a in arms]
    bw, bh = 34 + 6 * max(len(t) for t in texts), 6 + 14 * len(texts)
    corners = [(px + 4, py + 4), (px + pw - 4 - bw, py + 4), (px + 4, py + ph - 4 - bh),
               (px + pw - 4 - bw, py + ph - 4 - bh)]
    x, y = min(corners, key=lambda c: sum(c[0] <= a <= c[0] + bw and c[1] <= b <= c[1] + bh for a, b in points))
    for k, (arm, text) in enumerate(zip(arms, texts)):
        colour = COLOURS[k % len(COLOURS)]
        dash = ' stroke-dasharray="6 4"' if arm.lower() in _REFERENCE_NAMES else ""
        ly = y + 14 + 14 * k
        out.append(f'<line x1="{x + 4:.1f}" x2="{x + 22:.1f}" y1="{ly - 4:.1f}" y2="{ly - 4:.1f}" '
                   f'stroke="{colour}" stroke-width="1.8"{dash}/><text x="{x + 26:.1f}" y="{ly:.1f}" '
                   f'font-size="10" paint-order="stroke" stroke="#fff" stroke-width="3">{escape(text)}</text>')


def curves_svg(curves: Any, title: str = "", labels: dict | None = None, metric: str = "") -> str | None:
    """Line plots of ``curves`` (see :func:`curve_panels`) as an SVG data URI; None if nothing to draw.

    ``labels`` maps arm names to legend text (``{"option": "AdamDense (...)"}``);
    ``metric`` names the main panel (``details["metric"]`` of an experiment).
    Baseline-like arms (reference, baseline, default, sgd, none) are dashed.

    Drawn by hand, not with matplotlib: a full report has six of these, and matplotlib took
    0.2-0.4 s for each (plus half a second to import), the largest cost of an HTML report and
    of a class run; the SVG takes milliseconds, and stays sharp at any zoom.
    """
    try:
        import textwrap

        panels = curve_panels(curves)
        if not panels:
            return None
        labels = {str(k): str(v) for k, v in (labels or {}).items()}
        width = WIDTH_PX if len(panels) < 3 else 720
        head = 22 if title else 0
        height = HEIGHT_PX + head
        metric_name = short_metric(metric)
        unit = next((u for u in ("step", "epoch") if u in metric_name.lower()), "")
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
               f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" '
               'fill="#222"><rect width="100%" height="100%" fill="#fff"/>']
        if title:
            from xml.sax.saxutils import escape

            out.append(f'<text x="{width / 2:.1f}" y="16" text-anchor="middle" font-size="13">{escape(title)}</text>')
        w = width / len(panels)
        for n, (name, arms) in enumerate(panels.items()):
            longest = max(len(v) for v in arms.values())
            panel_title = _label(name) if name else metric_name
            chars = int(w / 6.5)
            _panel_svg(out, n * w, head, w, HEIGHT_PX, textwrap.shorten(panel_title, chars, placeholder="..."),
                       unit or ("epoch" if longest <= 50 else "step"), arms, labels)
        out.append("</svg>")
        return "data:image/svg+xml;base64," + base64.b64encode("".join(out).encode("utf-8")).decode("ascii")
    except Exception:  # noqa: BLE001 - a picture must never break a report
        return None


def curves_png(curves: Any, title: str = "", labels: dict | None = None, metric: str = "") -> str | None:
    """:func:`curves_svg` drawn with matplotlib as a PNG data URI (0.2-0.4 s a picture): for the
    notebook output only, since Google Colab shows no SVG image (googlecolab/colabtools#2092).

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
                label = _arm_label(arm, labels)
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
