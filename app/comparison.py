"""The presenters' comparison: the same picture under several settings, side by side, with loss curves."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st
from PIL import Image

from app.inputs import Styles, chosen_credits
from app.jobs import StatusView, about, active_work, finished, new_preview, stop, submit, watch_to_the_end
from app.results import WHOLE_STEPS
from app.runtime import Runtime, checked_config, preload
from app.session import keep, kept
from job_service.jobs import JobStatus
from job_service.work import Compared, ComparisonWork
from nst_core import compare
from nst_core.config import TransferConfig
from nst_core.errors import NSTError
from nst_core.labels import label_of
from nst_core.reports import TransferResult
from nst_core.sheet import comparison_sheet, sheet_png

DIMENSION_LABELS = {
    "method": "Method",
    "optimizer": "Optimiser",
    "backbone": "Backbone",
    "style_weight": "Style strength",
}
LEGEND = {"orient": "top", "direction": "vertical", "title": None}
KEY = "comparison_view"  # where a finished comparison is kept for the session
CREDITS_KEY = "comparison_credits"  # the credits of the examples of the comparison under way, for its sheet
KINDS = ("comparison",)  # the jobs of this page


@dataclass
class ComparisonView:
    """A finished comparison, kept for this session."""

    labels: list[str]
    images: list[Image.Image]
    captions: list[str]
    curves: list[dict[str, Any]]  # one row per step and variant, for the charts
    sheet: Callable[[], bytes]  # the sheet's PNG (recipes embedded), drawn when first downloaded


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


def submit_comparison(
    runtime: Runtime, content: Image.Image, styles: Styles, config: TransferConfig, dimension: str, chosen: list[str]
) -> None:
    """Submit the same picture under several settings as one job; a refusal is one sentence."""
    try:
        variants = compare.variants(dimension, chosen, checked_config(runtime, config))
        for variant in variants:
            preload(variant.config, runtime)
    except NSTError as error:
        st.error(str(error))
        return
    if submit(runtime, ComparisonWork(content, [image for _, image in styles], variants), st.empty()) is not None:
        keep(CREDITS_KEY, chosen_credits())


def watch_comparison(runtime: Runtime) -> bool:
    """Draw this visitor's comparison until it is done, then keep it; False when there is none."""
    under_way = active_work(runtime, KINDS, ComparisonWork)
    if under_way is None:
        return False
    job, work = under_way
    view = StatusView()
    if st.button("Stop and keep the runs so far", key="stop_comparison"):
        stop(runtime, job)
    live = [column.empty() for column in st.columns(len(work.variants))]
    shown = [0]

    def draw(status: JobStatus) -> None:
        view.status(status, "the run under way's best picture, and carries on after the others' turn")
        line = comparison_progress(status, [variant.label for variant in work.variants])
        if line is not None:
            view.progress(*line)
        progress = status.progress
        if progress is None or not isinstance(progress.detail, tuple):
            return
        fresh = new_preview(status, shown[0])
        if fresh is not None:
            (latest, image), shown[0] = fresh, status.preview_number
            run = latest.detail[0] if isinstance(latest.detail, tuple) else progress.detail[0]
            live[run].image(image, caption=work.variants[run].label, width="stretch")

    watch_to_the_end(runtime, job, draw)
    return True


def comparison_progress(status: JobStatus, labels: list[str]) -> tuple[float, str] | None:
    """The progress bar's share and line for a comparison: its run and step under way, or "Starting" once its
    turn has come and nothing is reported yet (a first run from the photo reports after its first step: until
    then the bar said "Waiting for the device…" though the wait above it was gone); None while it waits (the
    bar keeps what it showed)."""
    progress = status.progress
    if progress is not None and isinstance(progress.detail, tuple):
        index, report = progress.detail
        return min(1.0, progress.fraction), (
            f"{labels[index]}: step {report.step}/{report.total} · {about(status.left)} left for the comparison"
        )
    if status.state == "waiting":
        return None
    return 0.0, f"Starting · {about(status.left)} left for the comparison"


def keep_comparison(runtime: Runtime) -> None:
    """Keep this visitor's finished comparison for the page (or say why it gave nothing)."""
    for _, compared in finished(runtime, KINDS, Compared):
        if not compared.results:
            continue
        results, labels = compared.results, compared.labels
        sheet = sheet_maker(compared.content, compared.styles[0], results, labels, kept(CREDITS_KEY) or [])
        curves = [
            {"variant": label, "step": p.step, "seconds": p.elapsed, "total": p.losses.total,
             "content": p.losses.content, "style": p.losses.style}
            for label, result in zip(labels, results, strict=True)
            for p in result.history
        ]  # fmt: skip
        captions = [" · ".join(_caption(label, r)) for label, r in zip(labels, results, strict=True)]
        images = [r.image for r in results]
        keep(KEY, ComparisonView(labels, images, captions, curves, sheet))


def sheet_maker(
    content: Image.Image, style: Image.Image, results: list[TransferResult], labels: list[str], credits: list[str]
) -> Callable[[], bytes]:
    """The comparison sheet's PNG, drawn once when first downloaded: its charts hold the server's Python for a
    while, which every finished comparison paid, downloaded or not (docs/design.md, the load section)."""

    @functools.cache
    def png() -> bytes:
        return sheet_png(comparison_sheet(content, style, results, labels, credits=credits), results, labels)

    return png


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
            "x": {"field": x_axis, "type": "quantitative", **({"axis": WHOLE_STEPS} if x_axis == "step" else {})},
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
