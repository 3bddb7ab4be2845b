import html
import io

import numpy as np
import plotly.io as pio
import pytest
from PIL import Image

from seq2seq.plots import (
    MAX_ANSWER_BARS,
    MAX_LABEL_CHARS,
    TRUTH_MARK,
    _matplotlib_png,
    class_answers_figure,
    eos_figure,
    heatmap_figure,
    heatmap_png,
    moment_title,
    per_length_figure,
    position_labels,
    replay_animation_figure,
    replay_curve_figure,
    training_figure,
    with_clickable_rows,
)

SOURCE = ["the", "dog", "saw", "the", "dog"]
OUTPUT = SOURCE[::-1]
ATTENTION = [[1.0 if j == (4 - i if i < 5 else 5) else 0.0 for j in range(6)] for i in range(6)]


def white_for(*trace_types: str) -> dict:
    """The ``plotly_white`` template a figure of ``trace_types`` carries: its layout whole, those types' defaults."""
    whole = pio.templates["plotly_white"].to_plotly_json()
    return {"data": {kind: whole["data"][kind] for kind in trace_types}, "layout": whole["layout"]}


def test_repeated_words_get_distinct_labels():
    assert position_labels(SOURCE) == ["1·the", "2·dog", "3·saw", "4·the", "5·dog"]
    figure = heatmap_figure(SOURCE, OUTPUT, ATTENTION)
    heatmap = figure.data[0]
    assert len(set(heatmap.x)) == 6 and len(set(heatmap.y)) == 6
    assert heatmap.x[-1] == "6·&lt;eos&gt;"


def test_markup_in_tokens_is_escaped():
    figure = heatmap_figure(["<b>x</b>"], ["<b>x</b>"], [[1, 0], [0, 1]], title="<script>alert(1)</script>")
    assert figure.data[0].x[0] == "1·&lt;b&gt;x&lt;/b&gt;"
    assert "<script>" not in figure.layout.title.text


def test_template_and_colours_are_explicit_even_after_streamlit_changes_the_default():
    pio.templates.default = "none"
    figure = heatmap_figure(SOURCE, OUTPUT, ATTENTION)
    assert figure.layout.template.to_plotly_json() == white_for("heatmap")
    assert figure.data[0].colorscale == heatmap_figure(SOURCE, OUTPUT, ATTENTION).data[0].colorscale
    assert figure.data[0].colorscale[-1][1] != figure.data[0].colorscale[0][1]


def test_figures_get_the_template_without_rebuilding_and_checking_it(monkeypatch):
    """Set by name, Plotly rebuilds the template and checks every value (most of the cost of a small figure, under
    the GIL of a server drawing for a whole class); the figures copy its values as Plotly sets its default one."""
    from plotly.graph_objs.layout import Template

    checked = []  # templates built from their values with every value checked
    build = Template.__init__

    def counted(self, arg=None, *args, **kwargs):
        if arg and kwargs.get("_validate", True):
            checked.append(arg)
        build(self, arg, *args, **kwargs)

    monkeypatch.setattr(Template, "__init__", counted)
    heatmap = heatmap_figure(SOURCE, OUTPUT, ATTENTION)
    lengths = per_length_figure({"2": {"exact_match": 1.0, "correct": 1, "total": 1}})
    assert checked == []
    assert heatmap.to_dict()["layout"]["template"] == white_for("heatmap")
    assert lengths.to_dict()["layout"]["template"] == white_for(*{trace.type for trace in lengths.data})
    clickable = with_clickable_rows(heatmap_figure(SOURCE, OUTPUT, ATTENTION))  # a trace added after the heatmap's
    assert clickable.to_dict()["layout"]["template"] == white_for("heatmap", "scatter")


def test_a_figure_carries_the_template_defaults_of_its_own_trace_types_only():
    """The defaults of the two dozen trace types a figure does not draw are never used by the browser; copied,
    serialised and sent with every figure every session draws, they were most of a heatmap's JSON."""
    heatmap = heatmap_figure(SOURCE, OUTPUT, ATTENTION)
    curves = training_figure([], [], 10)
    assert set(heatmap.to_dict()["layout"]["template"]["data"]) == {"heatmap"}
    assert set(curves.to_dict()["layout"]["template"]["data"]) == {"scatter"}
    whole = len(pio.to_json(heatmap.update_layout(template=pio.templates["plotly_white"])))
    assert len(pio.to_json(heatmap_figure(SOURCE, OUTPUT, ATTENTION))) < 0.7 * whole


def _pixels(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


def _assert_readable(png: bytes) -> None:
    pixels = np.asarray(_pixels(png)).reshape(-1, 3).astype(int)
    r, b = pixels[:, 0], pixels[:, 2]
    white = float((pixels.min(axis=1) > 240).mean())
    dark_blue = float(((b > 80) & (r < 60) & (b > r + 40)).mean())
    assert white > 0.3, "the background should be white, not near-black"
    assert dark_blue > 0.005, "the high-weight cells should be drawn in the colour scale's dark blue"


def test_matplotlib_png_is_a_readable_heatmap():
    _assert_readable(_matplotlib_png(SOURCE, OUTPUT, ATTENTION, "title"))


def test_png_export_is_readable_whichever_engine_draws_it():
    pio.templates.default = "streamlit" if "streamlit" in pio.templates else "plotly_dark"
    png, engine = heatmap_png(SOURCE, OUTPUT, ATTENTION)
    assert engine in ("kaleido", "matplotlib")
    _assert_readable(png)


def test_kaleido_is_used_where_chromium_exists():
    import shutil

    if not shutil.which("chromium") and not shutil.which("google-chrome"):
        pytest.skip("no Chrome or Chromium on this machine: the export falls back to matplotlib")
    assert heatmap_png(SOURCE, OUTPUT, ATTENTION)[1] == "kaleido"


def test_per_length_figure_has_explicit_template():
    figure = per_length_figure(
        {"2": {"exact_match": 1.0, "correct": 1, "total": 1}, "10": {"exact_match": 0.5, "correct": 1, "total": 2}}
    )
    assert figure.layout.template.layout.paper_bgcolor is not None  # an explicit template, not Streamlit's
    assert list(figure.data[0].x) == [2, 10] and list(figure.data[0].y) == [100.0, 50.0]


def test_training_figure_traces():
    batches = [{"step": i, "train_loss": 1 / i, "grad_norm": 0.5} for i in range(1, 11)]
    history = [{"step": 5, "train_loss": 0.3, "valid_loss": 0.4, "valid_exact_match": 0.5}]
    figure = training_figure(batches, history, total_steps=20)
    names = [trace.name for trace in figure.data]
    assert names == ["train loss (batches)", "train loss", "valid loss", "valid exact match (%)", "gradient norm"]
    assert len(figure.data[0].x) == 10 and list(figure.data[3].y) == [50.0]
    assert figure.layout.uirevision == "training"
    assert training_figure([], [], None).data[0].x in (None, ())


def test_long_tokens_are_cut_on_the_axes_and_shown_whole_on_hover():
    long = "x" * 2_000
    figure = heatmap_figure([long, "<b>" * 20], [long], [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    heatmap = figure.data[0]
    assert heatmap.x[0] == "1·" + "x" * (MAX_LABEL_CHARS - 1) + "…"
    assert heatmap.x[1] == "2·" + html.escape(("<b>" * 20)[: MAX_LABEL_CHARS - 1]) + "…"  # cut, then escaped
    assert max(len(html.unescape(label)) for label in [*heatmap.x, *heatmap.y]) <= MAX_LABEL_CHARS + 2
    assert heatmap.customdata[0][0][0] == heatmap.customdata[0][0][1] == f"1·{long}"
    assert heatmap.customdata[1][1][1] == "2·" + html.escape("<b>" * 20)
    assert "%{customdata[1]}" in heatmap.hovertemplate and "%{x}" not in heatmap.hovertemplate
    assert figure.layout.xaxis.automargin and figure.layout.yaxis.automargin


def test_every_cell_of_a_clickable_heatmap_names_its_step_tokens_and_weight():
    attention = [[0.1, 0.9, 0.0], [0.7, 0.2, 0.1]]
    figure = with_clickable_rows(heatmap_figure(["the", "<b>"], ["<b>"], attention))
    heatmap, targets = figure.data
    assert heatmap.hoverinfo == "skip" and targets.marker.opacity == 0
    assert len(targets.x) == 6
    cell = {(x, y): data for x, y, data in zip(targets.x, targets.y, targets.customdata, strict=True)}
    assert list(cell[("2·&lt;b&gt;", "1·&lt;b&gt;")]) == ["1·&lt;b&gt;", "2·&lt;b&gt;", 1, 0.9]
    assert list(cell[("1·the", "2·&lt;eos&gt;")])[2:] == [2, 0.7]


def test_a_class_histogram_marks_the_truth_without_relying_on_colour():
    figure = class_answers_figure({"the": 5, "<b>cat</b>": 3, "mat": 1}, ["<b>cat</b>"])
    bar = figure.data[0]
    assert list(bar.y) == ["the", "✓ &lt;b&gt;cat&lt;/b&gt;", "mat"] and list(bar.x) == [5, 3, 1]
    assert list(bar.text) == ["5", f"3 · {TRUTH_MARK}", "1"]
    assert list(bar.marker.pattern.shape) == ["", "/", ""]
    assert len(set(bar.marker.color)) == 2


def test_a_class_histogram_keeps_the_truth_past_the_cut_and_lumps_the_rest():
    answers = {f"w{n}": 100 - n for n in range(MAX_ANSWER_BARS + 5)}
    bar = class_answers_figure(answers, ["w15", "nobody said this"]).data[0]
    assert list(bar.y)[MAX_ANSWER_BARS:] == ["✓ w15", "✓ nobody said this", "other answers (4)"]
    assert list(bar.x)[MAX_ANSWER_BARS:] == [85, 0, sum(100 - n for n in (12, 13, 14, 16))]


def _replay_moment(step: int, share: float | None) -> dict:
    example = {"tokens": ["a", "b"], "output": ["b", "a"], "attention": [[0, 1, 0], [1, 0, 0], [0, 0, 1]]}
    return {"epoch": 1, "step": step, "examples": [example, example], "exact_by_length": {}, "mirror_peak_share": share}


def test_replay_curves_report_each_points_step_and_mark_the_markers():
    history = [
        {"epoch": 1, "step": s, "train_loss": 1.0, "valid_loss": 1.0, "valid_exact_match": e}
        for s, e in ((10, 0.0), (20, 0.5), (30, 1.0))
    ]
    figure = replay_curve_figure(history, [("emergence", "alignment emerges", 20), ("exact", "99% exact match", 30)])
    assert [list(trace.customdata) for trace in figure.data] == [[10, 20, 30]] * 3  # a click reports the step
    assert sorted({shape.x0 for shape in figure.layout.shapes}) == [20, 30]  # a line through both rows
    assert [a.text for a in figure.layout.annotations] == ["alignment emerges", "99% exact match"]


def test_the_replay_animation_has_a_frame_and_a_slider_step_per_moment():
    moments = [_replay_moment(10, 0.25), _replay_moment(20, None)]
    figure = replay_animation_figure(moments, "tiny")
    assert [frame.name for frame in figure.frames] == ["10", "20"] and len(figure.frames[0].data) == 2
    assert [step.label for step in figure.layout.sliders[0].steps] == ["10", "20"]
    assert moment_title(moments[0]).endswith("in 25.0% of steps")
    assert "n/a (no attention)" in moment_title(moments[1])


def test_the_eos_figure_marks_where_it_stops_and_where_the_reversal_ends():
    figure = eos_figure([0.1, 0.2, 0.9, 0.95], ["c", "b", "a", "<eos>"], stop=2, source_length=3)
    bars = figure.data[0]
    assert list(bars.y) == [0.1, 0.2, 0.9, 0.95] and list(bars.marker.color).count("#d62728") == 1
    assert list(bars.marker.color)[2] == "#d62728"  # the step where it would stop
    (mark,) = figure.layout.shapes
    assert (mark.x0, mark.x1, mark.yref) == (4, 4, "y domain")  # the reversal of 3 words ends at step 4
    assert [note.text for note in figure.layout.annotations] == ["the reversal ends here"]
    assert figure.layout.template.to_plotly_json() == white_for("bar")
