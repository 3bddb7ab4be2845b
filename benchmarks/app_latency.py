"""What a person feels in the browser, timed: a cold ``streamlit run`` driven by Chromium through four moments.

    python benchmarks/app_latency.py                 # 3 rounds, each on a fresh server and a fresh browser context
    python benchmarks/app_latency.py --rounds 1      # quicker

Each round starts ``streamlit run streamlit_app.py`` on 127.0.0.1 (a free port, runs in a temporary folder, the
shipped model as the default) and times until the server answers its health check (it warms itself first), then, in
a new browser context (no cache, as a new user):

1. opens Try it and times until its text box is there (laid out on the page);
2. types a sentence as soon as it is, presses Enter, and times (from opening) until the reversal is shown, and until
   its heatmap is;
3. types 10 more sentences (test sentences, each new to the server), one Enter each, timing each from the Enter until
   the new reversal is shown, and until the heatmap shows it too;
4. opens the Train page in another tab, presses Start with the defaults, and times until the page shows the first
   validation and until its "valid exact match" reads 99% or more; then stops the run.

For scale, each round then opens the floor pages, each served the same way: a Streamlit page holding nothing but a
text box (its box timed); one whose box echoes the reversed words of what is typed (its box timed, then the same
sentences typed, each Enter timed until the echo is shown); and four more that take the same sentences, each Enter
timed: the model floor (the box and the shipped model's reversal, made as Try it makes it), the menu floor (the echo
as the home page of Streamlit's own multipage frame, its menu listing the app's pages), and the framed echo and
framed model floors (the echo, and the model's reversal, as the home page the app's frame draws, with its menu and
sidebar). The model and framed floors are served as the app is (its lifespan: warmed before it answers). Try it is set
against the first two: its box against the first, its Enter -> reversal against Enter -> echo; the other four show
where the difference lies. The first open also records, inside the page, when Streamlit's page, the heading and the
box first appear, and each round keeps the server's own "Warmed up in ..." line.

After its timed Enters, each page that answers takes ``COUNTED`` more sentences, not timed, for which it counts what
the browser drew from the Enter until the words were shown: React's commits, and the components rendered in them
(through React's developer-tools hook, installed before the page loads and idle while the timed Enters run).

Times are wall-clock seconds measured by this script around Playwright calls (the page is polled on every animation
frame), so they include Playwright's round trips of a few milliseconds. It prints a Markdown table and writes
``benchmarks/results/app_latency.json`` and ``.md`` (date, machine, commit, conditions, every sample).

With ``--headless-run`` it also trains the same run with no server and no page (one thread, as the app's trainer),
once before the rounds and once after: set against the watched runs, it shows what watching costs a run.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.browser import (  # noqa: E402
    MODEL_REVERSAL,
    TRUE_REVERSAL,
    Server,
    missing_browser,
    new_context,
    open_browser,
    open_tab,
    run_folders,
    shot_on_failure,
    wait_ready,
)
from seq2seq.checkpoint import load_checkpoint  # noqa: E402
from seq2seq.paths import DEFAULT_CHECKPOINT  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
FIRST_SENTENCE = "the cat sat on the mat"
APP_RUN_CONFIG = {"evals_per_epoch": 20, "valid_subset": 200}  # how the Train page validates by default
ENTERS = 10
COUNTED = 3  # sentences per page, after the timed ones, whose Enters count React's work instead
GOALS = {  # the goals, seconds
    "open_box": 1.0,
    "first_reversal": 1.5,
    "enter_median": 0.15,
    "enter_worst": 0.4,
    "start_to_99": 8.0,
}
GOALS_VS_FLOOR = {"open_box_vs_floor": 1.1, "enter_vs_echo": 1.5}  # the goals, times the floor page's

BOXES = [MODEL_REVERSAL, TRUE_REVERSAL]
# Try it's text box is on the page and laid out (it has a size).
_BOX_SHOWN = """() => {
  const box = document.querySelector('input[aria-label="Sentence"]');
  return !!box && box.getBoundingClientRect().width > 0;
}"""
# Where the first open goes, seen from inside the page: when each thing first appears, in ms after the navigation
# started (performance.now()). Installed before the page loads; read with ``window.__firstOpen``.
_FIRST_OPEN_TRACE = """
window.__firstOpen = {};
const firsts = {
  "Streamlit's page mounted": '[data-testid="stApp"]',
  "the heading": 'h1',
  "the text box": 'input[aria-label="Sentence"]',
};
new MutationObserver((_, observer) => {
  for (const [name, selector] of Object.entries(firsts)) {
    if (!(name in window.__firstOpen) && document.querySelector(selector)) {
      window.__firstOpen[name] = Math.round(performance.now());
    }
  }
  if (Object.keys(window.__firstOpen).length === Object.keys(firsts).length) observer.disconnect();
}).observe(document, {subtree: true, childList: true});
"""
# React's developer-tools hook, installed before the page loads (React looks for it as it starts): while
# ``window.__renders`` is an array, each commit React makes adds [when, how many components rendered in it]. Idle
# otherwise, as React calls it on every commit.
_RENDER_COUNT = """
window.__REACT_DEVTOOLS_GLOBAL_HOOK__ = {
  renderers: new Map(), supportsFiber: true,
  inject(renderer) { this.renderers.set(this.renderers.size + 1, renderer); return this.renderers.size; },
  checkDCE() {}, onScheduleFiberRoot() {}, onCommitFiberUnmount() {}, onPostCommitFiberRoot() {}, setStrictMode() {},
  onCommitFiberRoot(_id, root) {
    if (!Array.isArray(window.__renders)) return;
    let rendered = 0;
    const walk = (fiber) => {
      for (; fiber; fiber = fiber.sibling) {
        if (fiber.flags & 1) rendered++;  // PerformedWork: its component ran in this commit's render
        walk(fiber.child);
      }
    };
    walk(root.current.child);
    window.__renders.push([performance.now(), rendered]);
  },
};
"""
# The model's output and the true reversal both show ``expected``.
_REVERSAL_SHOWN = """([expected, boxes]) => boxes.every(selector => {
  const shown = document.querySelector(selector);
  return !!shown && shown.innerText.trim() === expected;
})"""
# The heatmap's first column label is the sentence's first word (position-numbered, HTML-escaped by the app).
_HEATMAP_SHOWN = """(first) => {
  const plot = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  return !!(plot && plot.data && plot.data[0] && plot.data[0].x && plot.data[0].x[0] === first);
}"""
# The Train page's "valid exact match" metric as {value: percent} once it reads at least ``at_least`` (an object: a
# value of 0 would read as false), or false while it reads "–" or is not drawn.
_VALID_EXACT_MATCH = """(at_least) => {
  for (const metric of document.querySelectorAll('[data-testid="stMetric"]')) {
    const label = metric.querySelector('[data-testid="stMetricLabel"]');
    const value = metric.querySelector('[data-testid="stMetricValue"]');
    if (label && value && label.innerText.trim() === 'valid exact match') {
      const number = parseFloat(value.innerText);
      return !isNaN(number) && number >= at_least ? {value: number} : false;
    }
  }
  return false;
}"""


def enter_sentences(checkpoint: Path, rounds: int) -> list[list[str]]:
    """``ENTERS`` + ``COUNTED`` different test sentences of 4-12 words for each round (none typed twice on one
    server): the timed ones first."""
    per_round = ENTERS + COUNTED
    tests = [s for s in load_checkpoint(checkpoint).test_sentences if 4 <= len(s) <= 12]
    picks = [" ".join(s) for s in tests[: per_round * rounds]]
    return [picks[i * per_round : (i + 1) * per_round] for i in range(rounds)]


def counted_enter(tab, sentence: str, boxes: list[str]) -> dict:
    """Type ``sentence``, press Enter and wait until its words are shown, counting React's commits meanwhile and the
    components rendered in them."""
    box = tab.get_by_role("textbox", name="Sentence", exact=True)
    box.fill(sentence)
    tab.evaluate("() => { window.__renders = []; }")
    pressed = tab.evaluate("() => performance.now()")
    box.press("Enter")
    tab.wait_for_function(_REVERSAL_SHOWN, arg=[" ".join(reversed(sentence.split())), boxes], polling="raf")
    shown, commits = tab.evaluate("() => [performance.now(), window.__renders]")
    tab.evaluate("() => { window.__renders = null; }")
    drawn = [rendered for when, rendered in commits if pressed <= when <= shown]
    return {"commits": len(drawn), "components": sum(drawn)}


def one_round(browser, checkpoint: Path, sentences: list[str], workdir: Path, train_timeout: float) -> dict:
    launched = time.perf_counter()
    server = Server(checkpoint, workdir / "runs", workdir / "streamlit.log")
    server_start = time.perf_counter() - launched
    warmed = [line.strip() for line in server.log(last=10**6).splitlines() if line.strip().startswith("Warmed up in")]
    try:
        with new_context(browser) as context:
            tab = open_tab(context, timeout_ms=120_000)
            tab.add_init_script(_FIRST_OPEN_TRACE)
            tab.add_init_script(_RENDER_COUNT)
            with shot_on_failure(tab, "app_latency_try_it"):
                sample = try_it(tab, server.url, sentences)
            train_tab = open_tab(context, timeout_ms=120_000)
            with shot_on_failure(train_tab, "app_latency_train"):
                sample.update(train(train_tab, server.url, server.runs_dir, train_timeout))
    finally:
        code = server.stop()
    sample["server_start"] = server_start
    sample["server_warm_up"] = warmed[0] if warmed else None
    sample["floor_open_box"] = floor_round(browser, checkpoint, workdir)
    for name, source in FLOORS.items():  # each page's open_box, enters and renders, under its name
        answers = floor_answers(browser, checkpoint, workdir, f"{name}_page", source, sentences)
        sample.update({f"{name}_{key}": value for key, value in answers.items()})
    sample["server_exit"] = code
    sample["traceback_in_log"] = "Traceback" in server.log(last=10**7)
    return sample


# The floor: a Streamlit page that holds nothing but a text box, served the same way.
FLOOR_PAGE = 'import streamlit as st\n\nst.text_input("Sentence")\n'
# The echo floor: what Streamlit itself costs for type, Enter, see the words reversed, with no model or app around it.
ECHO_ANSWER = """sentence = st.text_input("Sentence")
with st.container(key="echo"):
    st.text(" ".join(reversed(sentence.split())))
"""
ECHO_PAGE = "import streamlit as st\n\n" + ECHO_ANSWER
# The shipped model's reversal in place of the reversed words, made as Try it makes it (the session's model, the
# reversal cached per model and sentence).
MODEL_ANSWER = """from ui import session, warm_up

sentence = st.text_input("Sentence")
model, _ = session.load_active_model()
words = warm_up.typed_sentence(id(model), sentence, model).result.output if sentence else []
with st.container(key="echo"):
    st.text(" ".join(words))
"""


def home_page(answer: str) -> str:
    """``answer`` as the home page of a multipage frame, in a fragment as Try it's: an Enter reruns only it."""
    return "@st.fragment\ndef home():\n" + textwrap.indent(answer, "    ")


def served_as_the_app(body: str) -> str:
    """A floor page's script served as the app is: its ``st.App`` takes the app's lifespan (small messages sent at
    once, the server warmed before it answers) and each run draws ``body``."""
    return (
        f"import sys\n\nsys.path.insert(0, {str(ROOT)!r})\nimport streamlit as st\n\nimport streamlit_app\n\n"
        'if __name__ == "__main__":\n'
        + textwrap.indent(body, "    ")
        + "else:\n    app = st.App(__file__, lifespan=streamlit_app.lifespan)\n"
    )


# The model floor: the model's reversal on a page holding only the box and the words. What Streamlit and the model
# cost, with no app around them.
MODEL_PAGE = served_as_the_app(MODEL_ANSWER)
# The menu floor: the echo as the home page of Streamlit's own multipage frame, its menu listing the app's pages
# (their titles, addresses and icons; the others hold a line of text) in the sidebar, in the app's wide layout: what
# Streamlit's navigation costs, with none of the app's sidebar and no model.
MENU_PAGE = f"""import sys

sys.path.insert(0, {str(ROOT)!r})
import streamlit as st

from streamlit_app import PAGES


{home_page(ECHO_ANSWER)}

def elsewhere():
    st.write("Another page.")


page = st.navigation(
    [
        st.Page(home if index == 0 else elsewhere, title=title, url_path=address, icon=icon, default=index == 0)
        for index, (_, title, address, icon, _) in enumerate(PAGES)
    ]
)
st.set_page_config(layout="wide")
page.run()
"""
# The framed floors: the echo, then the model's reversal, as the home page the app's frame draws in place of Try it
# (its menu, and its sidebar with the active model). What the frame costs, without and with the model.
FRAMED_PAGE = served_as_the_app(home_page(ECHO_ANSWER) + "\nstreamlit_app.frame(home=home)\n")
FRAMED_MODEL_PAGE = served_as_the_app(home_page(MODEL_ANSWER) + "\nstreamlit_app.frame(home=home)\n")
FLOORS = {  # the floor pages that answer, timed in this order after Try it
    "echo": ECHO_PAGE,
    "model": MODEL_PAGE,
    "menu": MENU_PAGE,
    "framed": FRAMED_PAGE,
    "framed_model": FRAMED_MODEL_PAGE,
}
ECHO = [".st-key-echo"]


@contextmanager
def floor_page(browser, checkpoint: Path, workdir: Path, name: str, source: str) -> Iterator[tuple[Any, float]]:
    """The floor page ``source`` served as the app is and opened in a new browser context: its tab, and the seconds
    from opening until its box is there."""
    script = workdir / f"{name}.py"
    script.write_text(source, encoding="utf-8")
    server = Server(checkpoint, workdir / "runs", workdir / f"{name}.log", script=script)
    try:
        with new_context(browser) as context:
            tab = open_tab(context, timeout_ms=120_000)
            tab.add_init_script(_RENDER_COUNT)
            start = time.perf_counter()
            tab.goto(server.url, wait_until="commit")
            tab.wait_for_function(_BOX_SHOWN, polling="raf")
            yield tab, time.perf_counter() - start
    finally:
        server.stop()


def floor_round(browser, checkpoint: Path, workdir: Path) -> float:
    """Seconds from opening a page that holds only a text box until the box is there: what Streamlit's own page
    costs on this machine before an app draws anything."""
    with floor_page(browser, checkpoint, workdir, "floor_page", FLOOR_PAGE) as (_tab, open_box):
        return open_box


def floor_answers(browser, checkpoint: Path, workdir: Path, name: str, source: str, sentences: list[str]) -> dict:
    """A floor page that answers each Enter (the echo page, the model page): seconds from opening until its box is
    there, and from each of the timed Enters until its answer to that sentence is shown (the first sentence's left
    out, as Try it's, which is timed from opening instead); then the counted Enters."""
    with floor_page(browser, checkpoint, workdir, name, source) as (tab, open_box):
        box = tab.get_by_role("textbox", name="Sentence", exact=True)
        enters = []
        for sentence in [FIRST_SENTENCE, *sentences[:ENTERS]]:
            box.fill(sentence)
            pressed = time.perf_counter()
            box.press("Enter")
            expected = " ".join(reversed(sentence.split()))
            tab.wait_for_function(_REVERSAL_SHOWN, arg=[expected, ECHO], polling="raf")
            enters.append(time.perf_counter() - pressed)
            wait_ready(tab)
        renders = []
        for sentence in sentences[ENTERS:]:
            renders.append(counted_enter(tab, sentence, ECHO))
            wait_ready(tab)
        return {"open_box": open_box, "enters": enters[1:], "renders": renders}


def try_it(tab, url: str, sentences: list[str]) -> dict:
    start = time.perf_counter()
    tab.goto(url, wait_until="commit")
    # Polled on every frame in the page: Playwright's own wait for a locator backs off to a check every 0.5 s.
    tab.wait_for_function(_BOX_SHOWN, polling="raf")
    open_box = time.perf_counter() - start
    first_open = tab.evaluate("window.__firstOpen")
    box = tab.get_by_role("textbox", name="Sentence", exact=True)
    box.fill(FIRST_SENTENCE)
    box.press("Enter")
    words = FIRST_SENTENCE.split()
    tab.wait_for_function(_REVERSAL_SHOWN, arg=[" ".join(reversed(words)), BOXES], polling="raf")
    first_reversal = time.perf_counter() - start
    tab.wait_for_function(_HEATMAP_SHOWN, arg=f"1·{words[0]}", polling="raf")
    first_heatmap = time.perf_counter() - start
    wait_ready(tab)
    enters, heatmaps = [], []
    for sentence in sentences[:ENTERS]:
        words = sentence.split()
        box.fill(sentence)
        pressed = time.perf_counter()
        box.press("Enter")
        tab.wait_for_function(_REVERSAL_SHOWN, arg=[" ".join(reversed(words)), BOXES], polling="raf")
        enters.append(time.perf_counter() - pressed)
        tab.wait_for_function(_HEATMAP_SHOWN, arg=f"1·{words[0]}", polling="raf")
        heatmaps.append(time.perf_counter() - pressed)
        wait_ready(tab)
    renders = []
    for sentence in sentences[ENTERS:]:
        renders.append(counted_enter(tab, sentence, BOXES))
        tab.wait_for_function(_HEATMAP_SHOWN, arg=f"1·{sentence.split()[0]}", polling="raf")
        wait_ready(tab)
    return {
        "open_box": open_box,
        "first_open_in_page_ms": first_open,
        "first_reversal": first_reversal,
        "first_heatmap": first_heatmap,
        "enters": enters,
        "enter_heatmaps": heatmaps,
        "renders": renders,
    }


def train(tab, url: str, runs_dir: Path, timeout: float) -> dict:
    tab.goto(f"{url}/Train")
    wait_ready(tab)
    start_button = tab.get_by_role("button", name="Start training")
    start_button.wait_for()
    start = time.perf_counter()
    start_button.click()
    tab.wait_for_function(_VALID_EXACT_MATCH, arg=0, polling="raf", timeout=timeout * 1000)
    first_validation = time.perf_counter() - start
    shown = tab.wait_for_function(_VALID_EXACT_MATCH, arg=99, polling="raf", timeout=timeout * 1000)
    to_99 = time.perf_counter() - start
    shown_value = shown.json_value()["value"]
    tab.get_by_role("button", name="Stop", exact=True).click()
    tab.get_by_text("finished (stopped by a user)").first.wait_for(timeout=timeout * 1000)
    (run_dir,) = run_folders(runs_dir)
    rows = list(_history(run_dir / "history.csv"))
    reached = next(row for row in rows if float(row["valid_exact_match"]) >= 0.99)
    config = json.loads((run_dir / "run.json").read_text())["config"]
    return {
        "start_to_first_validation": first_validation,
        "start_to_99": to_99,
        "shown_valid_exact_match": shown_value,
        "run_99": {k: float(reached[k]) for k in ("step", "train_seconds", "wall_seconds")},
        "validations_before_99": rows.index(reached) + 1,
        "run_config": {k: config[k] for k in ("evals_per_epoch", "valid_subset", "valid_size") if k in config},
    }


def _history(path: Path):
    import csv

    with open(path, newline="") as handle:
        yield from csv.DictReader(handle)


def headless_run(config: dict) -> dict:
    """The watched run's settings trained with no server and no page, one thread: time and steps to 99%."""
    code = f"""
import json, sys, tempfile, torch
sys.path.insert(0, {str(ROOT)!r})
torch.set_num_threads(1)
from seq2seq.config import Config
from seq2seq.data import load_run_data
from seq2seq.run_folder import Trainer
config = Config().replace(target_accuracy=0.99, **json.loads({json.dumps(config)!r}))
with tempfile.TemporaryDirectory() as out:
    history = Trainer(config, load_run_data(config), out, log=lambda line: None).run().history
row = next(r for r in history if r["valid_exact_match"] >= 0.99)
print(json.dumps({{k: row[k] for k in ("step", "train_seconds", "wall_seconds")}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------- report
def seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def spread(values: list[float]) -> str:
    if len(values) == 1:
        return seconds(values[0])
    return f"{seconds(statistics.median(values))} (median; {seconds(min(values))}–{seconds(max(values))})"


def ratio(values: list[float], floors: list[float]) -> str:
    return f"{statistics.median(values) / statistics.median(floors):.2f}x"


def table(samples: list[dict]) -> list[str]:
    enters = [t for s in samples for t in s["enters"]]
    heatmaps = [t for s in samples for t in s["enter_heatmaps"]]
    echoes = [t for s in samples for t in s["echo_enters"]]

    def floor_rows(name: str, shown: str, times: list[float]) -> list[tuple[str, str, str]]:
        """A floor page's Enter (median and worst), and set against the echo floor's."""
        return [
            (
                f"(the {name}: press Enter -> {shown}, median of {len(times)} / worst)",
                f"{seconds(statistics.median(times))} / {seconds(max(times))}",
                "",
            ),
            (f"(the {name}'s Enter against Enter -> echo (medians))", ratio(times, echoes), ""),
        ]

    models = [t for s in samples for t in s["model_enters"]]
    framed = [t for s in samples for t in s["framed_enters"]]
    menus = [t for s in samples for t in s["menu_enters"]]
    both = [t for s in samples for t in s["framed_model_enters"]]
    goal = GOALS | GOALS_VS_FLOOR
    rows = [
        (
            "`streamlit run` -> the server answers (imports and the default model warmed first)",
            spread([s["server_start"] for s in samples]),
            "",
        ),
        ("open Try it -> its text box is there", spread([s["open_box"] for s in samples]), f"<= {goal['open_box']} s"),
        (
            "(the floor: the same for a Streamlit page holding only a text box)",
            spread([s["floor_open_box"] for s in samples]),
            "",
        ),
        (
            "(the echo floor: the same for a page whose box echoes the reversed words)",
            spread([s["echo_open_box"] for s in samples]),
            "",
        ),
        (
            "Try it's box against the floor's (median of each)",
            ratio([s["open_box"] for s in samples], [s["floor_open_box"] for s in samples]),
            f"<= {goal['open_box_vs_floor']}x",
        ),
        (
            "... -> first reversal shown (after opening)",
            spread([s["first_reversal"] for s in samples]),
            f"<= {goal['first_reversal']} s",
        ),
        ("... -> its heatmap shown (after opening)", spread([s["first_heatmap"] for s in samples]), ""),
        (
            f"press Enter -> new reversal shown (median of {len(enters)} / worst)",
            f"{seconds(statistics.median(enters))} / {seconds(max(enters))}",
            f"<= {seconds(goal['enter_median'])} / <= {seconds(goal['enter_worst'])}",
        ),
        (
            f"(the echo floor: press Enter -> the echo shown, median of {len(echoes)} / worst)",
            f"{seconds(statistics.median(echoes))} / {seconds(max(echoes))}",
            "",
        ),
        *floor_rows("model floor", "the model's reversal shown on a page holding only the box and the words", models),
        *floor_rows(
            "menu floor",
            "the echo shown on the echo page in Streamlit's multipage frame, its menu listing the app's pages",
            menus,
        ),
        *floor_rows(
            "framed echo floor",
            "the echo shown on the echo page drawn in the app's frame, with its menu and sidebar",
            framed,
        ),
        *floor_rows(
            "framed model floor", "the model's reversal shown on the model page drawn in the app's frame", both
        ),
        ("(Try it's Enter against the framed model floor's (medians))", ratio(enters, both), ""),
        (
            "press Enter -> new reversal shown, against Enter -> echo (medians)",
            ratio(enters, echoes),
            f"<= {goal['enter_vs_echo']}x",
        ),
        (
            "press Enter -> its heatmap shown (median / worst)",
            f"{seconds(statistics.median(heatmaps))} / {seconds(max(heatmaps))}",
            "",
        ),
        (
            "Train: Start with the defaults -> first validation shown",
            spread([s["start_to_first_validation"] for s in samples]),
            "",
        ),
        (
            "Train: Start with the defaults -> the valid exact match shown reaches 99%",
            spread([s["start_to_99"] for s in samples]),
            f"<= {goal['start_to_99']:.0f} s",
        ),
    ]
    return ["| moment | measured | goal |", "|---|---|---|", *[f"| {a} | {b} | {c} |" for a, b, c in rows]]


def renders_line(samples: list[dict]) -> str:
    """What the browser drew for an Enter on each page that answers, from the counted Enters."""
    pages = {
        "Try it": "renders",
        "the framed model floor": "framed_model_renders",
        "the framed echo floor": "framed_renders",
        "the menu floor": "menu_renders",
        "the model floor": "model_renders",
        "the echo floor": "echo_renders",
    }
    counted = {page: [r for s in samples for r in s[key]] for page, key in pages.items()}
    described = [
        f"{page} {statistics.median(r['commits'] for r in runs):.0f} commits, "
        f"{statistics.median(r['components'] for r in runs):,.0f} components"
        for page, runs in counted.items()
    ]
    return (
        "What the browser drew for an Enter until its words were shown (React commits, and components rendered in "
        f"them; median of {len(counted['Try it'])} counted Enters a page): " + "; ".join(described) + "."
    )


def commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return f"{platform.platform()}, {os.cpu_count()} cores, {platform.python_version()}, load average {load}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="fresh servers, one after another (default 3)")
    parser.add_argument("--checkpoint", type=Path, default=ROOT / DEFAULT_CHECKPOINT)
    parser.add_argument("--train-timeout", type=float, default=300.0, help="seconds to wait for 99%% (default 300)")
    parser.add_argument("--headless-run", action="store_true", help="also train the defaults with no page watching")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON and Markdown go")
    args = parser.parse_args()
    if missing_browser():
        sys.exit(f"cannot run: {missing_browser()}")
    sentences = enter_sentences(args.checkpoint, args.rounds)
    samples = []
    headless = headless_run(APP_RUN_CONFIG) if args.headless_run else None
    with open_browser() as browser, tempfile.TemporaryDirectory() as workdir:
        for index in range(args.rounds):
            folder = Path(workdir) / f"round-{index}"
            folder.mkdir()
            samples.append(one_round(browser, args.checkpoint, sentences[index], folder, args.train_timeout))
            print(f"round {index + 1}: {json.dumps(samples[-1])}", file=sys.stderr)
    # Before and after the rounds, so that the machine's drift over the rounds shows.
    headless = [headless, headless_run(APP_RUN_CONFIG)] if args.headless_run else None
    lines = table(samples)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    conditions = (
        f"{args.rounds} round(s), each a cold `streamlit run` on 127.0.0.1 and a new Chromium context; "
        f"model {args.checkpoint.name}; {ENTERS} Enters per round"
    )
    notes = [f"Measured {when} on {machine()}, commit {commit()}.", f"Conditions: {conditions}."]
    notes += [f"The server of round {i}, on starting: {s['server_warm_up']}" for i, s in enumerate(samples, 1)]
    traces = [s["first_open_in_page_ms"] for s in samples]
    notes.append(
        "Where the open goes, seen in the page (ms after the navigation started, median of the rounds): "
        + ", ".join(f"{name} {statistics.median(t[name] for t in traces):.0f}" for name in traces[0])
        + "."
    )
    drew = renders_line(samples)
    notes.append(drew)
    watched = [s["run_99"] for s in samples]
    notes.append(
        "Watched run at 99%: "
        + "; ".join(
            f"step {r['step']:.0f}, {r['train_seconds']:.1f} s training, {r['wall_seconds']:.1f} s wall"
            for r in watched
        )
        + f" (validated {samples[-1]['run_config']})."
    )
    if headless:
        notes.append(
            "The same run with no server or page, before and after the rounds: "
            + "; ".join(
                f"99% at step {r['step']}, {r['train_seconds']:.1f} s training, {r['wall_seconds']:.1f} s wall"
                for r in headless
            )
            + "."
        )
    print("\n".join(lines + [""] + notes))
    args.out.mkdir(parents=True, exist_ok=True)
    record = {
        "date": when,
        "machine": machine(),
        "commit": commit(),
        "conditions": conditions,
        "goals_seconds": GOALS,
        "goals_vs_floor": GOALS_VS_FLOOR,
        "samples": samples,
        "headless_run": headless,
        "table": lines,
        "renders": drew,
    }
    (args.out / "app_latency.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    markdown = ["# App latency (`python benchmarks/app_latency.py`)", "", *lines, "", *notes, ""]
    (args.out / "app_latency.md").write_text("\n".join(markdown), encoding="utf-8")


if __name__ == "__main__":
    main()
