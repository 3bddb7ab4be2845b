"""The Train page's replay against a real server: in Debian's Chromium (through Playwright), a click on a point of the
curves shows that moment's heatmap; through the page's websocket, the heatmap comes a frame before the per-length
chart."""

import statistics

import pytest

from harness.browser import missing_browser, new_tab, shot_on_failure
from harness.streamlit_client import AppSession, run_apart
from seq2seq.checkpoint import load_checkpoint
from seq2seq.plots import moment_title
from ui.widgets import PAINT_GAP

if missing_browser():
    pytest.skip(missing_browser(), allow_module_level=True)

HEATMAP_CELLS = """() => {
    const chart = document.querySelector('.st-key-replay_heatmap .js-plotly-plot');
    return chart && chart._fullData ? Array.from(chart._fullData[0].z, row => Array.from(row)) : null;
}"""


def close(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        abs(x - y) < 1e-6 for ra, rb in zip(a, b, strict=True) for x, y in zip(ra, rb, strict=True)
    )


def test_a_click_on_a_curve_point_shows_that_moments_heatmap(server, browser, tiny_checkpoint):
    snapshots = load_checkpoint(tiny_checkpoint).snapshots
    first, target = snapshots[0], snapshots[3]
    with new_tab(browser) as page, shot_on_failure(page, "replay_click"):
        page.goto(f"{server.url}/Train?run=default&step={first['step']}")
        page.get_by_text(moment_title(first), exact=True).wait_for()
        page.wait_for_function(f"({HEATMAP_CELLS})() !== null")
        assert close(page.evaluate(HEATMAP_CELLS), first["examples"][-1]["attention"])
        exact_match = page.locator(".st-key-replay_curves .scatterlayer .trace").nth(2)
        point = exact_match.locator("path.point").nth(3)  # the fourth validation's
        point.scroll_into_view_if_needed()
        box = point.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.get_by_text(moment_title(target), exact=True).wait_for()
        page.wait_for_function(f"() => window.location.search.includes('step={target['step']}')")
        weights = target["examples"][-1]["attention"]
        page.wait_for_function(f"() => Math.abs(({HEATMAP_CELLS})()[0][0] - {weights[0][0]}) < 1e-6")  # redrawn
        cells = page.evaluate(HEATMAP_CELLS)
        assert close(cells, weights) and not close(cells, first["examples"][-1]["attention"])


def test_a_moments_heatmap_is_sent_a_frame_before_its_per_length_chart(server, tiny_checkpoint):
    """The browser draws every element that has arrived in one pass: the heatmap a scrub waits for must reach it
    before the per-length chart, a pause (``PAINT_GAP``) apart (the median of five moments)."""
    snapshots = load_checkpoint(tiny_checkpoint).snapshots

    async def gaps() -> list[float]:
        async with AppSession(server.url) as tab:
            seconds = []
            for shown in snapshots[:5]:
                run = await tab.open("Train", query=f"run=default&step={shown['step']}")
                charts = [a for a in run.arrivals if a.node.kind == "plotly_chart"]
                heatmap = next(a.at for a in charts if a.node.proto.id.endswith("replay_heatmap"))
                lengths = next(a.at for a in charts if a.node.proto.id.endswith("replay_lengths"))
                seconds.append(lengths - heatmap)
            return seconds

    # Sent together, they arrive microseconds apart. A quarter of the pause: on a busy machine the server may send
    # the first part late, within the pause.
    assert statistics.median(run_apart(gaps())) >= PAINT_GAP / 4
