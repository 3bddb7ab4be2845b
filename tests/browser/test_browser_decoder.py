"""The Decoder page and a deep link in a real browser (Debian's Chromium through Playwright)."""

from urllib.parse import quote

import pytest

from harness.browser import MODEL_REVERSAL, missing_browser, new_tab, shot_on_failure

if missing_browser():
    pytest.skip(missing_browser(), allow_module_level=True)


def test_a_deep_link_opens_the_decoder_on_its_step_and_the_url_follows_the_slider(server, browser):
    with new_tab(browser) as page, shot_on_failure(page, "decoder_deep_link"):
        page.goto(f"{server.url}/Decoder?sentence={quote('the big dog')}&step=2&colour=red")
        page.get_by_text("Step 2 looks at source word 2").wait_for()
        page.get_by_text("'colour' is not one this app reads").wait_for()
        page.locator('[data-testid="stPlotlyChart"]').nth(1).wait_for()  # the weights and the energy charts
        slider = page.get_by_role("slider").first
        slider.focus()
        slider.press("ArrowRight")
        page.get_by_text("Step 3 looks at source word 1").wait_for()
        page.wait_for_function("() => window.location.search.includes('step=3')")
        assert "sentence=the+big+dog" in page.url or "sentence=the%20big%20dog" in page.url


def test_a_click_on_a_row_of_the_whole_heatmap_opens_that_step(server, browser):
    with new_tab(browser) as page, shot_on_failure(page, "decoder_click"):
        page.goto(f"{server.url}/Decoder?sentence={quote('the big dog')}&step=1")
        page.get_by_text("Step 1 looks at source word 3").wait_for()
        cells = page.locator(".st-key-decoder_heatmap .js-plotly-plot .nsewdrag").first
        cells.wait_for()
        box = cells.bounding_box()
        rows = columns = 4  # "dog big the" and <eos>, over "the big dog" and <eos>
        page.mouse.click(box["x"] + 0.5 * box["width"] / columns, box["y"] + 2.5 * box["height"] / rows)
        page.get_by_text("Step 3 looks at source word 1").wait_for()
        page.wait_for_function("() => window.location.search.includes('step=3')")


def test_a_link_to_try_it_shows_the_reversal(server, browser):
    with new_tab(browser) as page, shot_on_failure(page, "try_it_deep_link"):
        page.goto(f"{server.url}/?sentence={quote('a red bird')}")
        page.get_by_text("Match: the output is exactly the input reversed.").wait_for()
        assert page.locator(MODEL_REVERSAL).inner_text().strip() == "bird red a"
