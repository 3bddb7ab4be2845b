"""A run's replay taken away: a self-contained HTML animation (Plotly frames, plotly.js inlined, so it plays offline)
and an animated GIF of the heatmaps forming, both written atomically (``python -m seq2seq report`` writes them beside
the report; the app offers them as downloads)."""

import io
from collections.abc import Sequence
from pathlib import Path

from .fileio import atomic_write, atomic_write_text
from .plots import COLOR_SCALE, moment_title, position_labels, replay_animation_figure
from .records import Snapshot

GIF_FRAME_MS = 500  # how long each moment shows in the GIF
GIF_DPI = 80


def replay_html(snapshots: Sequence[Snapshot], title: str) -> str:
    """One HTML page that plays the replay: plotly.js is inside it, so it loads nothing from the network."""
    figure = replay_animation_figure(snapshots, title)
    return figure.to_html(include_plotlyjs=True, full_html=True, auto_play=False)


def replay_gif(snapshots: Sequence[Snapshot], title: str) -> bytes:
    """An animated GIF, one frame per moment: each watched sentence's heatmap side by side, titled with its step and
    mirror-peak share; it loops. One matplotlib figure is redrawn per frame (a new one each time took six times
    longer)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    count = max((len(s["examples"]) for s in snapshots), default=1) or 1
    widest = max((len(e["tokens"]) + 1 for s in snapshots for e in s["examples"]), default=2)
    fig = Figure(figsize=(count * max(3.2, 0.3 * widest + 1.4), max(3.6, 0.3 * widest + 2.0)), dpi=GIF_DPI)
    canvas = FigureCanvasAgg(fig)
    axes = fig.subplots(1, count, squeeze=False)[0]
    fig.subplots_adjust(left=0.08, right=0.98, top=0.8, bottom=0.03, wspace=0.45)
    heading = fig.suptitle("", fontsize=9)
    frames = []
    for snapshot in snapshots:
        heading.set_text(f"{title}\n{moment_title(snapshot)}")
        for ax, example in zip(axes, snapshot["examples"], strict=False):
            ax.clear()
            ax.imshow(example["attention"], cmap=COLOR_SCALE, vmin=0.0, vmax=1.0, aspect="auto")
            source = position_labels([*example["tokens"], "<eos>"], escape=False, limit=10)
            output = position_labels([*example["output"], "<eos>"], escape=False, limit=10)[: len(example["attention"])]
            ax.set_xticks(range(len(source)), source, rotation=60, ha="left", fontsize=6)
            ax.set_yticks(range(len(output)), output, fontsize=6)
            ax.xaxis.tick_top()
        canvas.draw()
        frames.append(Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB"))
    frames = frames or [Image.new("RGB", canvas.get_width_height(), "white")]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=GIF_FRAME_MS, loop=0)
    return out.getvalue()


def write_replay(snapshots: Sequence[Snapshot], out_dir: str | Path, title: str) -> list[Path]:
    """Write ``replay.html`` and ``replay.gif`` into ``out_dir``, each atomically; returns their paths."""
    out = Path(out_dir)
    html_path, gif_path = out / "replay.html", out / "replay.gif"
    atomic_write_text(html_path, replay_html(snapshots, title))
    data = replay_gif(snapshots, title)
    atomic_write(gif_path, lambda handle: handle.write(data))
    return [html_path, gif_path]
