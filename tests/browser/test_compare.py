"""Compare in a real Chromium against ``streamlit run``: one sentence through every shipped model."""

from collections.abc import Iterator

import pytest

from harness.browser import Server, missing_browser, new_tab, shot_on_failure, wait_ready

KINDS = ["location-aware attention", "2014 additive attention", "encoder–decoder, no attention"]


@pytest.fixture(scope="module")
def compare_server(tmp_path_factory, shipped) -> Iterator[Server]:
    if missing_browser():
        pytest.skip(missing_browser())
    folder = tmp_path_factory.mktemp("compare-server")
    running = Server(shipped, folder / "runs", folder / "streamlit.log")
    yield running
    assert running.stop() in (0, -15)
    assert "Traceback" not in running.log(last=10**7), running.log()


def test_compare_in_a_browser_type_and_see_three_columns(compare_server, browser):
    with new_tab(browser) as page, shot_on_failure(page, "compare"):
        page.goto(f"{compare_server.url}/Compare")
        wait_ready(page)
        box = page.get_by_role("textbox", name="Sentence", exact=True)
        box.fill("the dog saw bird")
        box.press("Enter")
        page.get_by_text("no attention to show", exact=False).wait_for()
        wait_ready(page)
        assert page.locator('[data-testid="stMain"] [data-testid="stText"]').count() == 3
        for kind in KINDS:
            assert page.get_by_text(kind, exact=True).count() >= 1
        charts = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot')
        charts.nth(4).wait_for()  # Plotly draws after the page settles
        assert charts.count() == 5  # two heatmaps (the encoder-decoder has none) and each model's p(<eos>)
        assert page.locator('[data-testid="stException"]').count() == 0
