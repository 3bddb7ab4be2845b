"""End to end in a real browser: Playwright drives Debian's Chromium against ``streamlit run`` on 127.0.0.1.

These tests skip, saying why, only where no Chromium is installed (``.ci/run`` installs it). Playwright's own browser
download is never used: the browser is ``/usr/bin/chromium`` (or ``SEQ2SEQ_CHROMIUM``). A failing test saves a
screenshot of its page under ``test-screenshots/``.

With ``SEQ2SEQ_SCREENSHOTS=<folder>`` set, ``test_screenshots_of_every_screen`` also writes a screenshot of each
screen, on the shipped default model, into that folder (the README's pictures live in ``docs/screenshots``).
"""

import io
import json
import os
import re
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image

from harness.browser import (
    MODEL_REVERSAL,
    REPO,
    RUNNING,
    TIMEOUT_MS,
    TRUE_REVERSAL,
    Server,
    missing_browser,
    new_tab,
    run_folders,
    screenshot_when_drawn,
    shot_on_failure,
    start_run,
    submit_sentence,
    wait_for_reversal,
    wait_ready,
)
from harness.streamlit_client import AppSession, run_apart
from seq2seq.paths import CHECKPOINT_ENV, DEFAULT_CHECKPOINT
from ui.widgets import PAINT_GAP

PAGES = {
    "Train": "Train a model",
    "Examples": "Test-set examples",
    "Attention": "Attention",
    "Analysis": "How attention",
}

if missing_browser():
    pytest.skip(missing_browser(), allow_module_level=True)


# The server and browser fixtures (one of each per module) are in tests/conftest.py.


@pytest.fixture
def page(browser) -> Iterator:
    """A fresh browser tab; each test wraps its steps in ``shot_on_failure``."""
    with new_tab(browser, accept_downloads=True) as tab:
        yield tab


# ------------------------------------------------------------------------------------------------- tests
def test_type_a_sentence_and_see_the_reversal_and_heatmap_markup_stays_text(server, page):
    with shot_on_failure(page, "type_a_sentence"):
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(server.url)
        box = page.get_by_role("textbox", name="Sentence", exact=True)
        box.fill("the dog saw bird")
        box.press("Enter")
        page.get_by_text("Match: the output is exactly the input reversed.").wait_for()
        assert page.locator(MODEL_REVERSAL).inner_text().strip() == "bird saw dog the"
        heatmap = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
        heatmap.wait_for()
        labels = page.eval_on_selector(
            '[data-testid="stPlotlyChart"] .js-plotly-plot', "el => el.data[0].x.concat(el.data[0].y)"
        )
        assert "1·the" in labels and "4·bird" in labels and "5·&lt;eos&gt;" in labels
        assert heatmap.locator(".hm, image, .heatmaplayer").count() >= 1  # the cells are drawn
        # The PNG is drawn on the server when the button is pressed, with an explicit (light) template.
        with page.expect_download(timeout=120_000) as download_info:
            page.get_by_role("button", name="Download the heatmap (PNG)").click()
        download = download_info.value
        assert download.suggested_filename == "attention_heatmap.png"
        png = Path(download.path()).read_bytes()
        assert png.startswith(b"\x89PNG")
        with Image.open(io.BytesIO(png)) as image:
            pixels = image.convert("L").resize((64, 64)).tobytes()
            assert sum(pixels) / len(pixels) > 150  # mostly white, never the near-black dark template

        box.fill("<script>alert(1)</script><img src=x onerror=alert(2)>")
        box.press("Enter")
        page.get_by_text("not in the model's vocabulary").wait_for()
        wait_ready(page)
        shown = page.locator(TRUE_REVERSAL).inner_text().strip()
        assert shown == "> ) 2 ( alert = onerror x = src img < > script / < ) 1 ( alert > script <"
        assert dialogs == [] and page.locator("img[src=x]").count() == 0


def test_try_it_sends_the_words_a_frame_before_the_tables_and_the_heatmap(server):
    """The browser draws every element that has arrived in one pass: the words must reach it before the tables and
    the heatmap, a pause (``PAINT_GAP``) apart, or they are painted only with them (docs/speed.md). Timed as
    the page's websocket receives the answer, over several Enters (the median)."""

    async def gaps() -> list[float]:
        async with AppSession(server.url) as tab:
            await tab.open()
            seconds = []
            for sentence in ("the dog saw bird", "a cat sat", "the bird saw the cat", "dog sat", "a bird"):
                run = await tab.type("sentence", sentence)
                words = [at for at, body in run.keyed_text("true_reversal") if body == " ".join(sentence.split()[::-1])]
                heavy = [a.at for a in run.arrivals if a.node.kind in ("dataframe", "plotly_chart")]
                assert words and len(heavy) == 3, (sentence, [a.node.kind for a in run.arrivals])
                seconds.append(min(heavy) - max(words))
            return seconds

    # Sent together, they arrive microseconds apart. Half the pause: the client types each sentence the moment the
    # last answer ends, which is when a server with Nagle's algorithm on (seq2seq.app.server_sockets) held the words
    # back about 40 ms, most of the pause.
    assert statistics.median(run_apart(gaps())) >= PAINT_GAP / 2


def test_the_model_picker_is_drawn_when_its_popover_opens(server, page):
    """A select box's script is loaded by the browser when it first draws one, which delayed Try it's text box: the
    sidebar's model picker stays undrawn, its script unloaded, until "Change model" is opened."""
    with shot_on_failure(page, "model_picker"):
        page.goto(server.url)
        page.get_by_role("textbox", name="Sentence", exact=True).wait_for()
        wait_ready(page)
        loaded = "() => performance.getEntriesByType('resource').some(r => r.name.includes('/Selectbox.'))"
        assert page.locator('[data-testid="stSelectbox"]').count() == 0 and not page.evaluate(loaded)
        page.get_by_role("button", name="Change model").click()
        shows_the_active_model = """() => [...document.querySelectorAll('[data-testid="stSelectbox"] *')].some(
            e => (e.value || e.textContent || '').includes('shipped default'))"""
        page.wait_for_function(shows_the_active_model)
        assert page.evaluate(loaded)


AXE = Path(os.environ.get("SEQ2SEQ_AXE") or REPO / "node_modules" / "axe-core" / "axe.min.js")
# Every page's URL path, Try it with a sentence answered.
EVERY_PAGE = ["?sentence=the+dog+saw+bird", "Train", "Runs", "Examples", "Attention", "Analysis", "Compare", "Decoder"]


@pytest.mark.skipif(not AXE.is_file(), reason=f"no axe-core at {AXE} (npm install --no-save axe-core, as .ci/run does)")
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_page_has_no_accessibility_violations(server, browser, theme):
    """axe-core, the engine of browsers' accessibility audits, finds nothing on any page, in the light and the dark
    theme (Streamlit follows the browser's): text contrast, heading order, labels and the rest of its rules."""
    with new_tab(browser, color_scheme=theme) as tab:
        for path in EVERY_PAGE:
            with shot_on_failure(tab, f"axe_{theme}_{path.split('?')[0] or 'try_it'}"):
                tab.goto(f"{server.url}/{path}")
                wait_ready(tab)
                tab.locator('[data-testid="stMain"] h1').first.wait_for()
                tab.wait_for_timeout(500)  # let the last deltas of the run settle into the page
                tab.add_script_tag(path=str(AXE))
                violations = tab.evaluate(
                    """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(
                        v => `${v.id} (${v.impact}): ${v.help}; ${v.nodes.length} nodes, e.g. `
                             + v.nodes.slice(0, 2).map(n => n.target.join(' ') + ' ' + n.failureSummary).join(' | '))"""
                )
                assert violations == [], f"/{path} ({theme}): " + "\n".join(violations)


def test_train_watch_the_curve_grow_reload_stop_activate_and_exit_mid_run(server, page):
    """A tiny run started in the browser: its curves grow live, it goes on through a reload, Stop works, one click
    makes it the active model; then a second run is cut off by stopping the server, which must exit cleanly
    (status 0, never 134 from a thread left in torch) with that run's best model saved. Uses the server last."""
    with shot_on_failure(page, "training"):
        page.goto(f"{server.url}/Train")
        wait_ready(page)
        start_run(page, sentences=200, epochs=300, held_out=30)
        points = "() => { const p = document.querySelector('[data-testid=\"stPlotlyChart\"] .js-plotly-plot');"
        points += " return p && p.data ? p.data[0].x.length : 0; }"
        page.wait_for_function(f"({points})() > 0", timeout=TIMEOUT_MS)
        first = page.evaluate(points)
        page.wait_for_function(f"({points})() > {first}", timeout=TIMEOUT_MS)  # the fragment redraws it, live
        valid = points.replace("data[0]", "data[2]")  # the valid-loss curve: one point per validation
        page.wait_for_function(f"({valid})() > 0", timeout=TIMEOUT_MS)
        # The run goes on in the background through a reload: the page picks it up and keeps drawing it.
        before = page.evaluate(points)
        page.reload()
        page.get_by_text(RUNNING).first.wait_for()
        page.wait_for_function(f"({points})() > {before}", timeout=TIMEOUT_MS)
        page.get_by_role("button", name="Stop").click()
        page.get_by_text("finished (stopped by a user)").first.wait_for(timeout=120_000)
        page.get_by_role("button", name="Make this run the active model").click()
        page.get_by_text("This run's model is your active model.").wait_for()
        page.locator('[data-testid="stSidebar"]').get_by_text(re.compile(r"^run \d{8}-\d{6}")).wait_for()

        page.get_by_role("button", name="Start training").click()
        page.get_by_text(RUNNING).first.wait_for()
    code = server.stop()
    assert code in (0, -15), f"streamlit exited with {code}:\n{server.log()}"
    assert "Aborted" not in server.log()
    latest = max(run_folders(server.runs_dir))
    info = json.loads((latest / "run.json").read_text())
    assert info["status"] == "finished" and info["stop_reason"] == "server_stopped"  # joined at exit, model kept
    assert (latest / "model.pt").is_file() and len(list(run_folders(server.runs_dir))) == 2


def test_every_page_opens_by_its_own_url_on_a_fresh_server(tmp_path, tiny_checkpoint, browser):
    """Each page's URL is the first thing its session opens, on a server that has not run the entry script yet: every
    one shows the full app (its own content, the whole sidebar, the active model), not a bare or missing page."""
    fresh = Server(tiny_checkpoint, tmp_path / "runs", tmp_path / "streamlit.log")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tabs = {}
    try:
        for path in PAGES:  # all opened before any of them, or the entry page, has run
            tabs[path] = context.new_page()
            tabs[path].set_default_timeout(TIMEOUT_MS)
            tabs[path].goto(f"{fresh.url}/{path}", wait_until="commit")
        for path, tab in tabs.items():
            with shot_on_failure(tab, f"deep_link_{path}"):
                tab.get_by_text(PAGES[path]).first.wait_for()
                sidebar = tab.locator('[data-testid="stSidebar"]')
                for label in ("Try it", "Train", "Examples", "Attention", "Analysis"):
                    link = sidebar.get_by_role("link", name=label, exact=True)
                    link.wait_for()
                    assert link.count() == 1
                sidebar.get_by_text("shipped default").wait_for()
                wait_ready(tab)
                assert tab.locator('[data-testid="stException"]').count() == 0
                assert "Page not found" not in tab.content()
                assert urlsplit(tab.url).path.endswith(f"/{path}")  # a page showing a model names it: ?model=...
    finally:
        context.close()
        fresh.stop()


HEATMAP_FIRST_COLUMN = """() => {
  const plot = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  return plot && plot.data && plot.data[0] && plot.data[0].x ? plot.data[0].x[0] : null;
}"""


def test_try_it_on_a_fresh_server_takes_a_sentence_at_once_and_answers_every_enter(tmp_path, tiny_checkpoint, browser):
    """On a server no page has run on yet, a sentence typed as soon as the text box is there is answered, and so is
    each Enter after it, the heatmap following each sentence, with no error on the page."""
    fresh = Server(tiny_checkpoint, tmp_path / "runs", tmp_path / "streamlit.log")
    try:
        with new_tab(browser) as tab, shot_on_failure(tab, "try_it_fresh_server"):
            tab.goto(fresh.url, wait_until="commit")
            box = tab.get_by_role("textbox", name="Sentence", exact=True)
            box.wait_for()
            for sentence in ["the dog saw bird", "a red cat ran", "the cat sat", "the dog saw bird"]:
                submit_sentence(tab, sentence)
                expected = " ".join(reversed(sentence.split()))
                assert wait_for_reversal(tab, expected) == expected
                first = f"1·{sentence.split()[0]}"
                tab.wait_for_function(f"() => ({HEATMAP_FIRST_COLUMN})() === {first!r}")
            assert tab.locator('[data-testid="stException"]').count() == 0
    finally:
        assert fresh.stop() in (0, -15)
    assert "Traceback" not in fresh.log(last=10**7)


# ------------------------------------------------------------------------------------------------- README pictures
SCREENS = [  # name, URL path, sentence to type, page height to show
    ("try_it", "", "the cat sat on the mat", 1900),
    ("train", "Train", None, 2500),
    ("examples", "Examples", None, 2300),
    ("attention", "Attention", None, 2600),
    ("analysis", "Analysis", None, 2300),
    ("compare", "Compare", "the cat sat on the mat", 1700),
    ("decoder", "Decoder?sentence=the+cat+sat+on+the+mat&step=3", None, 3000),
]


@pytest.mark.skipif(not os.environ.get("SEQ2SEQ_SCREENSHOTS"), reason="set SEQ2SEQ_SCREENSHOTS=<folder> to take them")
def test_screenshots_of_every_screen(tmp_path, browser):
    """One picture per screen, on the shipped default model (``SEQ2SEQ_CHECKPOINT`` may name another)."""
    out = Path(os.environ["SEQ2SEQ_SCREENSHOTS"])
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = Path(os.environ.get(CHECKPOINT_ENV) or DEFAULT_CHECKPOINT)
    assert checkpoint.is_file(), f"no model to show at {checkpoint}"
    shots = Server(checkpoint, tmp_path / "runs", tmp_path / "streamlit.log")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(120_000)
    try:
        for name, path, sentence, height in SCREENS:
            with shot_on_failure(tab, f"screenshot_{name}"):
                # Streamlit scrolls inside its main block, so a full-page shot is only as tall as the window.
                tab.set_viewport_size({"width": 1400, "height": height})
                tab.goto(f"{shots.url}/{path}")
                wait_ready(tab)
                if sentence:
                    box = tab.get_by_role("textbox", name="Sentence", exact=True)
                    box.fill(sentence)
                    box.press("Enter")
                    tab.locator('[data-testid="stPlotlyChart"]').first.wait_for()
                if name == "train":
                    train_for_the_picture(tab)
                else:
                    tab.locator('[data-testid="stPlotlyChart"]').first.wait_for()
                wait_ready(tab)
                time.sleep(1.5)  # let Plotly finish drawing
                screenshot_when_drawn(tab, out / f"{name}.png")
    finally:
        context.close()
        shots.stop()


def train_for_the_picture(tab) -> None:
    """A short run on a small built-in corpus, stopped once a few validations have drawn the curves."""
    start_run(tab, sentences=3000, epochs=8, held_out=200, per_epoch=4)
    # Shown once the model has learnt something: valid exact match (trace 3) at 60% or more, or the run has ended.
    tab.wait_for_function(
        "() => { const p = document.querySelectorAll('[data-testid=\"stPlotlyChart\"] .js-plotly-plot');"
        " if (p.length < 2 || !p[0].data) return false; const y = p[0].data[3].y || [];"
        " return (y.length >= 3 && y[y.length - 1] >= 60) || document.body.innerText.includes(': finished'); }",
        timeout=600_000,
    )
