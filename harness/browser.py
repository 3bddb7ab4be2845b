"""What the browser tests and the soak benchmark share: a ``streamlit run`` server on 127.0.0.1, Debian's Chromium
driven by Playwright, and helpers that wait for the app and save a screenshot when a step fails.

The browser is always ``/usr/bin/chromium`` (or ``SEQ2SEQ_CHROMIUM``); Playwright's own browser download is never
used. Nothing here imports Playwright at module level, so a test module can import this, then skip with a clear reason
where no Chromium (or no playwright package) exists: ``missing_browser()`` says why, or returns None.
"""

import contextlib
import importlib.util
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from seq2seq.app.runs import RUNS_ENV
from seq2seq.paths import CHECKPOINT_ENV

REPO = Path(__file__).resolve().parent.parent
FAILURE_SHOTS = REPO / "test-screenshots"
CHROMIUM = os.environ.get("SEQ2SEQ_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 60_000
RUNNING = re.compile(r"^Run \d{8}-\d{6}(-\d+)?: training")  # the Train screen's status line while a run trains
VIEWPORT = {"width": 1400, "height": 1000}


def missing_browser() -> str | None:
    """Why the browser tests cannot run here (no Chromium, no playwright package), or None when they can."""
    if not Path(CHROMIUM).is_file():
        return f"no Chromium at {CHROMIUM} (install Debian's: apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright Python package is not installed"
    return None


# ------------------------------------------------------------------------------------------------- server
def run_folders(runs_dir: Path) -> list[Path]:
    """The folders in a runs folder, in name order (beside them lies the app's database, ``app.sqlite3``)."""
    return sorted(path for path in runs_dir.iterdir() if path.is_dir())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_rss_mb(pid: int) -> float | None:
    """A process's resident memory (``VmRSS`` in ``/proc/<pid>/status``) in MB; None once it is gone or where there
    is no ``/proc``."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+)\s+kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else None


class Server:
    """``streamlit run streamlit_app.py`` (or ``script``) on 127.0.0.1 and a free port, up once ``/_stcore/health``
    answers."""

    def __init__(
        self, checkpoint: Path, runs_dir: Path, log_path: Path, script: Path = REPO / "streamlit_app.py"
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.runs_dir = runs_dir
        env = {**os.environ, CHECKPOINT_ENV: str(checkpoint), RUNS_ENV: str(runs_dir), "PYTHONUNBUFFERED": "1"}
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(script),
                "--server.address=127.0.0.1",
                f"--server.port={self.port}",
                "--server.headless=true",
                "--browser.gatherUsageStats=false",
            ],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_healthy()

    def _wait_healthy(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.process.returncode}:\n{self.log()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"streamlit did not answer on {self.url} within {timeout} s:\n{self.log()}")

    def log(self, last: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-last:]

    def rss_mb(self) -> float | None:
        """The server process's resident memory (``VmRSS`` in ``/proc/<pid>/status``) in MB; None once it is gone
        or where there is no ``/proc``."""
        return process_rss_mb(self.process.pid)

    def children_rss_mb(self) -> float | None:
        """The resident memory of the server's child processes together (each run it trains is one), in MB; 0 with
        none, None once the server is gone or where there is no ``/proc``."""
        try:
            tasks = list(Path(f"/proc/{self.process.pid}/task").iterdir())
            children = [pid for task in tasks for pid in (task / "children").read_text().split()]
        except OSError:
            return None
        return sum(process_rss_mb(int(pid)) or 0.0 for pid in children)

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if not self._log.closed:
            self._log.close()
        return self.process.returncode


# ------------------------------------------------------------------------------------------------- browser
@contextlib.contextmanager
def open_browser() -> Iterator:
    """Debian's Chromium, headless, through Playwright's sync API."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@contextlib.contextmanager
def new_context(browser, **context_options) -> Iterator:
    """A browser context: cookies and cache of its own, as another user's browser would have."""
    context = browser.new_context(viewport=VIEWPORT, **context_options)
    try:
        yield context
    finally:
        context.close()


def open_tab(context, timeout_ms: int = TIMEOUT_MS):
    """A new tab in ``context``: to the app, a browser session of its own."""
    tab = context.new_page()
    tab.set_default_timeout(timeout_ms)
    return tab


@contextlib.contextmanager
def new_tab(browser, timeout_ms: int = TIMEOUT_MS, **context_options) -> Iterator:
    """A tab in a context of its own: to the app, another user."""
    with new_context(browser, **context_options) as context:
        yield open_tab(context, timeout_ms)


def save_failure_shot(tab, name: str) -> None:
    FAILURE_SHOTS.mkdir(exist_ok=True)
    with contextlib.suppress(Exception):
        safe = re.sub(r"[^\w.-]+", "_", name)
        tab.screenshot(path=str(FAILURE_SHOTS / f"{safe}.png"), full_page=True)


@contextlib.contextmanager
def shot_on_failure(tab, name: str):
    """Save a screenshot of ``tab`` when the block fails (assertions included), then re-raise."""
    try:
        yield
    except BaseException:
        save_failure_shot(tab, name)
        raise


def wait_ready(tab, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until the app has connected and finished running its script."""
    tab.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    tab.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout_ms,
    )


def set_number(tab, label: str, value: str) -> None:
    field = tab.get_by_role("spinbutton", name=label, exact=True)
    field.fill(value)
    field.press("Enter")
    wait_ready(tab)


def start_run(tab, sentences: int, epochs: int, held_out: int, per_epoch: int = 1, timeout_ms: int = TIMEOUT_MS) -> str:
    """From the open Train screen, start a run on a built-in corpus of ``sentences`` (``held_out`` each for
    validation and test, ``per_epoch`` validations an epoch); return its status line once it trains."""
    set_number(tab, "Training sentences", str(sentences))
    set_number(tab, "Epochs", str(epochs))
    tab.get_by_text("More settings").click()
    set_number(tab, "Validation sentences", str(held_out))
    set_number(tab, "Test sentences", str(held_out))
    set_number(tab, "Validations per epoch", str(per_epoch))
    tab.get_by_text("More settings").click()  # closed again
    tab.get_by_role("button", name="Start training").click()
    status = tab.get_by_text(RUNNING).first
    status.wait_for(timeout=timeout_ms)
    return status.inner_text()


_ACTIVE_MODEL = """() => {
  const sidebar = document.querySelector('[data-testid="stSidebar"]');
  if (!sidebar) return null;
  const lines = sidebar.innerText.split('\\n').map(line => line.trim()).filter(line => line);
  const at = lines.indexOf('Active model');
  return at >= 0 && at + 1 < lines.length ? lines[at + 1] : null;
}"""


def sidebar_model(tab, timeout_ms: int = TIMEOUT_MS) -> str:
    """The active model's label, as the sidebar shows it ("shipped default", "run 20250131-142501"), once drawn."""
    wait_ready(tab, timeout_ms)
    return tab.wait_for_function(_ACTIVE_MODEL, timeout=timeout_ms).json_value()


def stop_any_run(browser, url: str) -> None:
    """Stop the server's training run, if one is going on, from a tab of its own (to leave a server clean)."""
    with new_tab(browser) as tab:
        tab.goto(f"{url}/Train")
        wait_ready(tab)
        tab.get_by_text(re.compile(r"^Run .*|No training run")).first.wait_for()
        if tab.get_by_text(re.compile(r"^Run .*: (preparing|training|stopping)")).count():
            tab.get_by_role("button", name="Stop", exact=True).click()
            tab.get_by_text(re.compile(r"^Run .*: (finished|failed)")).first.wait_for(timeout=120_000)


def screenshot_when_drawn(tab, path: Path, attempts: int = 20) -> None:
    """Save a screenshot once every chart in view shows something (a live chart is blank for a moment when it
    redraws)."""
    from PIL import Image

    for _ in range(attempts):
        boxes = tab.evaluate(
            "() => Array.from(document.querySelectorAll('[data-testid=\"stPlotlyChart\"]')).map(e => {"
            " const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })"
            " .filter(b => b[3] > 100 && b[1] >= 0 && b[1] + b[3] <= window.innerHeight)"
        )
        png = tab.screenshot()
        with Image.open(io.BytesIO(png)) as image:
            gray = image.convert("L")
            if all(min(gray.crop((x, y, x + w, y + h)).tobytes()) < 200 for x, y, w, h in boxes):
                break
        time.sleep(0.5)
    path.write_bytes(png)


# ------------------------------------------------------------------------------------------------- Try it
def submit_sentence(tab, sentence: str) -> None:
    """Type a sentence into the Try it box and press Enter (returns at once; see ``wait_for_reversal``)."""
    box = tab.get_by_role("textbox", name="Sentence", exact=True)
    box.fill(sentence)
    box.press("Enter")


# The "True reversal" block is the second code block on Try it (the first is the model's output).
MODEL_REVERSAL = ".st-key-model_reversal"  # Try it's boxes: the model's reversal, the true reversal
TRUE_REVERSAL = ".st-key-true_reversal"
_REVERSAL_SHOWN = """([expected, refused, selector]) => {
  const status = document.querySelector('[data-testid="stStatusWidget"]');
  if (status && status.innerText.includes('Running')) return false;
  if (refused) {
    return Array.from(document.querySelectorAll('[data-testid="stAlert"]')).some(a => a.innerText.includes(refused));
  }
  const shown = document.querySelector(selector);
  return !!shown && shown.innerText.trim() === expected;
}"""


def wait_for_reversal(tab, expected: str | None, refused: str | None = None, timeout_ms: int = TIMEOUT_MS) -> str:
    """Wait until Try it shows ``expected`` as the true reversal (or an alert holding ``refused``); return the model's
    output ("" for a refused sentence)."""
    tab.wait_for_function(_REVERSAL_SHOWN, arg=[expected, refused, TRUE_REVERSAL], timeout=timeout_ms)
    if refused:
        return ""
    return tab.locator(MODEL_REVERSAL).inner_text().strip()


# ------------------------------------------------------------------------------------------------- Learn
LEARN_REVEAL = ".st-key-learn_reveal"  # the Learn page's reveal, drawn once an answer is checked


_ONE_RADIO = """() => document.querySelectorAll('[data-testid="stRadio"]').length === 1"""
_CHECK_ENABLED = """() => {
  const b = Array.from(document.querySelectorAll('button')).find(b => b.innerText.trim() === 'Check my answer');
  return !!b && !b.disabled;
}"""
_REVEAL_DRAWN = """(figures) => {
  const reveal = document.querySelector('.st-key-learn_reveal');
  return !!reveal && reveal.innerText.trim().length > 0
    && reveal.querySelectorAll('[data-testid="stPlotlyChart"] .main-svg').length >= figures;
}"""


def answer_step(tab, choice: str, figures: int = 1, timeout_ms: int = TIMEOUT_MS) -> float:
    """On the open Learn step: pick ``choice``, press "Check my answer", and wait until the reveal is drawn, its text
    and its ``figures`` charts, and the script has finished; return the seconds from the press to the reveal drawn."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    # One set of choices on screen (a rerun of the step can show the last try's for a moment), then the pick.
    tab.wait_for_function(_ONE_RADIO, timeout=timeout_ms)
    option = tab.locator('[data-testid="stRadio"]').get_by_role("radiogroup").get_by_text(choice, exact=True)
    button = tab.get_by_role("button", name="Check my answer")
    for _ in range(10):  # a click while the page still reruns can be lost: click until the answer is taken
        option.click()
        try:
            tab.wait_for_function(_CHECK_ENABLED, timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    wait_ready(tab, timeout_ms)
    started = time.perf_counter()
    button.click()
    tab.wait_for_function(_REVEAL_DRAWN, arg=figures, timeout=timeout_ms, polling="raf")
    took = time.perf_counter() - started
    wait_ready(tab, timeout_ms)
    return took
