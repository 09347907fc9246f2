"""The presenters' comparison: the same picture under several settings, side by side, with loss curves."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import streamlit as st
from PIL import Image

from app.form import label_of
from app.inputs import Styles, chosen_credits
from app.run import checked_config, in_gate, preload
from app.runtime import Runtime
from app.session import keep
from nst_core import compare
from nst_core.errors import NSTError
from nst_core.reports import Progress, TransferResult
from nst_core.schedule import planned_steps

DIMENSION_LABELS = {
    "method": "Method",
    "optimizer": "Optimiser",
    "backbone": "Backbone",
    "style_weight": "Style strength",
}
LEGEND = {"orient": "top", "direction": "vertical", "title": None}
KEY = "comparison_view"  # where a finished comparison is kept for the session


@dataclass
class ComparisonView:
    """A finished comparison, kept for this session."""

    labels: list[str]
    images: list[Image.Image]
    captions: list[str]
    curves: list[dict[str, Any]]  # one row per step and variant, for the charts
    sheet: bytes  # PNG, recipes embedded


def render_dimension() -> str:
    """What the comparison varies (outside the form, so that the values below follow it at once)."""
    dimension: str = st.selectbox(
        "Vary", compare.DIMENSIONS, format_func=DIMENSION_LABELS.__getitem__, key="compare_dimension"
    )
    return dimension


def render_values(dimension: str) -> list[str]:
    """The values of the chosen dimension (2 to 6), in a form the caller opened."""
    choices = compare.CHOICES[dimension]
    chosen: list[str] = st.multiselect(
        DIMENSION_LABELS[dimension],
        choices,
        default=list(choices[:3]),
        format_func=label_of,
        key=f"compare_{dimension}",
        help="Everything else as set below.",
    )
    return chosen


def run_comparison(
    runtime: Runtime, content: Image.Image, styles: Styles, values: dict[str, Any], dimension: str, chosen: list[str]
) -> None:
    """The same picture under several settings, one after the other, with live progress."""
    if not styles:
        st.error("Choose at least one painting.")
        return
    try:
        variants = compare.variants(dimension, chosen, checked_config(runtime, values))
        for variant in variants:
            preload(variant.config, runtime)
    except NSTError as error:
        st.error(str(error))
        return
    status = st.empty()
    bar = st.progress(0.0, text="Waiting for the device…")
    live = [column.empty() for column in st.columns(len(variants))]
    total = sum(planned_steps(v.config) for v in variants)
    done = [0]

    def on_progress(index: int, progress: Progress) -> None:
        done[0] += 1
        bar.progress(min(1.0, done[0] / total), text=f"{variants[index].label}: step {progress.step}/{progress.total}")
        if progress.preview is not None:
            live[index].image(progress.preview, caption=variants[index].label, width="stretch")

    style_images = [image for _, image in styles]

    def job(cancel: threading.Event) -> list[TransferResult]:
        return compare.run(content, style_images, variants, on_progress=on_progress, cancel=cancel)

    results = in_gate(runtime, status, bar, job)
    if not results:
        return
    labels = [v.label for v in variants[: len(results)]]
    sheet = compare.comparison_sheet(content, style_images[0], results, labels, credits=chosen_credits())
    curves = [
        {"variant": label, "step": p.step, "seconds": p.elapsed, "total": p.losses.total,
         "content": p.losses.content, "style": p.losses.style}
        for label, result in zip(labels, results, strict=True)
        for p in result.history
    ]  # fmt: skip
    captions = [" · ".join(_caption(label, r)) for label, r in zip(labels, results, strict=True)]
    images = [r.image for r in results]
    keep(KEY, ComparisonView(labels, images, captions, curves, compare.sheet_png(sheet, results, labels)))
    st.rerun()


def _caption(label: str, result: TransferResult) -> list[str]:
    first = compare.first_picture_seconds(result)
    return [
        label,
        *([f"first picture after {first:.1f} s"] if first is not None else []),
        f"done after {result.seconds:.1f} s",
        f"style {result.recipe['distance_style']:.3g}",
        f"content {result.recipe['distance_content']:.3g}",
    ]


def comparison_chart_spec(rows: list[dict[str, Any]], x_axis: str, term: str) -> dict[str, Any]:
    return {
        "data": {"values": [row for row in rows if row[term] > 0]},
        "mark": {"type": "line"},
        "encoding": {
            "x": {"field": x_axis, "type": "quantitative"},
            "y": {"field": term, "type": "quantitative", "scale": {"type": "log"}, "title": f"{term} loss"},
            # The legend above the plot, a name a line: beside it, it took half of a half-width column; in one
            # row, a phone cut off the second name.
            "color": {"field": "variant", "type": "nominal", "legend": LEGEND},
        },
        "height": 260,
    }


def render_comparison(view: ComparisonView) -> None:
    st.subheader("Comparison")
    for column, image, caption in zip(st.columns(len(view.images)), view.images, view.captions, strict=True):
        column.image(image, caption=caption, width="stretch")
    term = st.radio("Curve", ["total", "content", "style"], horizontal=True, key="comparison_term")
    left, right = st.columns(2)
    left.vega_lite_chart(comparison_chart_spec(view.curves, "step", term), width="stretch")
    right.vega_lite_chart(comparison_chart_spec(view.curves, "seconds", term), width="stretch")
    plotted = {row["variant"] for row in view.curves}
    unplotted = [label for label in view.labels if label not in plotted]
    if unplotted:
        st.caption(f"Not plotted: {', '.join(unplotted)} (one pass of the instant network, no steps).")
    st.download_button("Download the comparison sheet (PNG)", view.sheet, file_name="comparison.png",
                       mime="image/png", key="download_sheet")  # fmt: skip
