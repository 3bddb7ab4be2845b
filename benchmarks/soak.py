"""Soak, run by hand: browser pages reverse sentences on one server while a training runs; the server's memory is
watched before, during and after. Prints a Markdown report.

    python benchmarks/soak.py                                  # 300 inputs over 3 pages, at most 10 minutes
    python benchmarks/soak.py --sentences 30 --json soak.json  # quicker; the figures also as JSON

The figures and the report are stored in ``benchmarks/results/soak.json`` and ``.md`` (``benchmarks/stored.py``),
which ``docs/reliability.md`` quotes; ``--no-store`` leaves them as they are (for trial runs).

It starts ``streamlit run streamlit_app.py`` on 127.0.0.1 (a free port) with runs in a temporary folder, so nothing is
written under ``artifacts/``. One browser context (a user) starts a training run on the Train screen and stays there
(its live view refreshes every second); ``--pages`` tabs of a second context, each a Streamlit session of its own,
type inputs into Try it in rounds: every tab presses Enter, then each waits for its answer, so the server answers them
at once. Every ``--hostile-every``-th input is a hostile one (markup, emoji and other scripts, control characters
and tabs, punctuation only, 10,000 words, which must be refused with the documented limit). Bounded by
``--sentences`` and ``--max-seconds``. The browser is Debian's Chromium (``/usr/bin/chromium``); every request it
makes to anything but 127.0.0.1 is blocked and counted. The server's resident memory (``VmRSS`` in
``/proc/<pid>/status``) is sampled twice a second.

Errors counted: a Python exception shown on a page, a JavaScript error in a page, an answer that did not come within
the timeout, a wrong true reversal or refusal, a blocked outside request, and a traceback in the server's log. The
exit status is 1 when there was any.
"""

import argparse
import contextlib
import csv
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.stored import store  # noqa: E402
from harness.browser import (  # noqa: E402
    RUNNING,
    TRUE_REVERSAL,
    Server,
    missing_browser,
    new_context,
    open_browser,
    open_tab,
    run_folders,
    save_failure_shot,
    start_run,
    submit_sentence,
    wait_for_reversal,
    wait_ready,
)
from seq2seq.corpus import generate_corpus  # noqa: E402
from seq2seq.paths import CHECKPOINT_ENV, DEFAULT_CHECKPOINT  # noqa: E402
from seq2seq.tokenize import MAX_SENTENCE_CHARS, tokenize  # noqa: E402

# Stopped with SIGTERM, the server shuts down (joining the run), then uvicorn re-raises the signal to exit by it.
EXIT_MEANINGS = {-15: " (SIGTERM, re-raised by uvicorn after the server shut down)"}
REFUSED = f"the limit is {MAX_SENTENCE_CHARS:,}"
HOSTILE = [
    "<script>alert(1)</script> <b>x</b> <img src=x onerror=alert(2)>",
    "word " * 10_000,
    "Кошка сидела 猫が座った جلست القطة 😀🐱",
    "the \x07 cat \x1b sat\ton the\tmat",
    "?! ... ;; -- ()",
]


def inputs(count: int, hostile_every: int, seed: int = 7) -> list[tuple[str, str | None]]:
    """``count`` inputs as (text, expected true reversal or None when it must be refused): distinct sentences from
    the built-in grammar, with a hostile input every ``hostile_every``-th place."""
    sentences = generate_corpus(count, 1, 12, 0.0, seed)
    chosen, hostile = [], 0
    for i in range(count):
        if hostile_every and i % hostile_every == hostile_every - 1:
            text = HOSTILE[hostile % len(HOSTILE)]
            hostile += 1
        else:
            text = " ".join(sentences[i])
        expected = None if len(text) > MAX_SENTENCE_CHARS else " ".join(reversed(tokenize(text)))
        chosen.append((text, expected))
    return chosen


class MemoryWatch:
    """The server's RSS, sampled on a thread twice a second, with named marks."""

    def __init__(self, server: Server, every: float = 0.5) -> None:
        self.server, self.every = server, every
        self.samples: list[tuple[float, float]] = []
        self.marks: dict[str, float | None] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(self.every):
            rss = self.server.rss_mb()
            if rss is not None:
                self.samples.append((time.monotonic(), rss))

    def mark(self, name: str) -> float | None:
        self.marks[name] = self.server.rss_mb()
        return self.marks[name]

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    @property
    def peak(self) -> float | None:
        return max((rss for _, rss in self.samples), default=None)


def only_localhost(context, blocked: list[str]) -> None:
    """Abort, and remember, any request a browser context makes to anything but 127.0.0.1."""

    def route(request_route) -> None:
        url = request_route.request.url
        if urlparse(url).hostname in ("127.0.0.1", None) or url.startswith(("data:", "blob:")):
            request_route.continue_()
        else:
            blocked.append(url)
            request_route.abort()

    context.route("**/*", route)


def start_training(tab, url: str, sentences: int) -> str:
    """Start a long run (1,000 epochs of a small built-in corpus) from the Train screen; return its status line."""
    tab.goto(f"{url}/Train")
    wait_ready(tab)
    return start_run(tab, sentences=sentences, epochs=1000, held_out=100, timeout_ms=120_000)


def wait_for_answer(tab, expected: str | None, timeout_ms: int) -> tuple[str, str]:
    """("served", the model's output), or ("timeouts" | "wrong answers", what the page shows) when the right answer
    did not come within ``timeout_ms``."""
    try:
        return "served", wait_for_reversal(tab, expected, refused=None if expected else REFUSED, timeout_ms=timeout_ms)
    except Exception:  # Playwright's TimeoutError
        shown = ""
        with contextlib.suppress(Exception):
            true_reversal = tab.locator(TRUE_REVERSAL)
            shown = true_reversal.inner_text(timeout=1000).strip() if true_reversal.count() else ""
            shown = shown or " | ".join(tab.locator('[data-testid="stAlert"]').all_inner_texts())
        running = False
        with contextlib.suppress(Exception):
            running = "Running" in tab.locator('[data-testid="stStatusWidget"]').inner_text(timeout=1000)
        return ("timeouts" if running or not shown else "wrong answers"), shown


@dataclass
class Settings:
    sentences: int = 300  # inputs typed, over all pages
    pages: int = 3  # browser pages typing at once, besides the one that trains
    max_seconds: float = 600  # longest the traffic may go on
    hostile_every: int = 20  # every n-th input is a hostile one
    train_sentences: int = 2000  # the built-in corpus of the training run
    timeout_ms: int = 60_000  # longest wait for one answer


def run_soak(server: Server, browser, settings: Settings) -> tuple[dict, dict]:
    """Soak ``server`` with pages of ``browser``; return (figures, errors by kind). Leaves both running."""
    memory = MemoryWatch(server)
    errors = {"exceptions shown": 0, "page JavaScript errors": 0, "timeouts": 0, "wrong answers": 0}
    blocked: list[str] = []
    counts = {"served": 0, "hostile_served": 0, "refused_over_limit": 0, "exact_reversals": 0}
    round_times: list[float] = []
    seen: list[str] = []  # the trainer page's progress line after each round
    trajectory: list[float | None] = []  # the server's RSS after each tenth of the traffic
    problems: list[str] = []
    todo = inputs(settings.sentences, settings.hostile_every)
    runs_before = set(run_folders(server.runs_dir)) if server.runs_dir.is_dir() else set()
    elapsed, still_training, progress, run_line = 0.0, False, "", ""

    def page_error(error) -> None:
        errors["page JavaScript errors"] += 1
        problems.append(f"JavaScript: {error}")

    try:
        # The trainer is one user; the typing pages are tabs of another's browser, each a session of its own.
        with new_context(browser) as trainer_context, new_context(browser) as context:
            trainer = open_tab(trainer_context)
            tabs = [open_tab(context) for _ in range(settings.pages)]
            for each in (trainer_context, context):
                only_localhost(each, blocked)
            for tab in [trainer, *tabs]:
                tab.on("pageerror", page_error)

            # Warm up: every page loads Try it and reverses one sentence (the model is loaded, torch imported).
            for tab in tabs:
                tab.goto(server.url, wait_until="commit")
            for tab in tabs:
                submit_sentence(tab, "the cat sat")
            for tab in tabs:
                wait_for_reversal(tab, "sat cat the")
            memory.mark("warm, before the training")

            run_line = start_training(trainer, server.url, settings.train_sentences)
            memory.mark("training started")

            started = time.monotonic()
            deadline = started + settings.max_seconds
            position = 0
            while position < len(todo) and time.monotonic() < deadline:
                batch = list(zip(tabs, todo[position : position + len(tabs)], strict=False))
                round_start = time.monotonic()
                for tab, (text, _) in batch:
                    submit_sentence(tab, text)
                for n, (tab, (text, expected)) in enumerate(batch):
                    outcome, shown = wait_for_answer(tab, expected, settings.timeout_ms)
                    if outcome != "served":
                        errors[outcome] += 1
                        problems.append(f"{outcome}: {text[:60]!r} -> {shown[:80]!r}")
                        save_failure_shot(tab, f"soak_{outcome.replace(' ', '_')}_{position + n}")
                        with contextlib.suppress(Exception):
                            tab.goto(server.url)
                            wait_ready(tab)
                        continue
                    counts["served"] += 1
                    counts["hostile_served"] += text in HOSTILE
                    if expected is None:
                        counts["refused_over_limit"] += 1
                    elif shown == expected:
                        counts["exact_reversals"] += 1
                    if tab.locator('[data-testid="stException"]').count():
                        errors["exceptions shown"] += 1
                        problems.append(f"exception shown for {text[:60]!r}")
                        save_failure_shot(tab, f"soak_exception_{position + n}")
                round_times.append(time.monotonic() - round_start)
                with contextlib.suppress(Exception):
                    seen.append(trainer.locator('[data-testid="stProgress"]').first.inner_text(timeout=2000).strip())
                position += len(batch)
                if position >= len(todo) // 4 and "after a quarter of the traffic" not in memory.marks:
                    memory.mark("after a quarter of the traffic")
                if position * 10 // len(todo) > len(trajectory):
                    trajectory.append(server.rss_mb())
            elapsed = time.monotonic() - started
            memory.mark("end of the traffic")

            # The training ran all along, so it is still going now: stop it from its page and wait for its end.
            still_training = trainer.get_by_text(RUNNING).count() > 0
            progress = trainer.locator('[data-testid="stProgress"]').first.inner_text().strip()
            trainer.get_by_role("button", name="Stop", exact=True).click()
            trainer.get_by_text("finished (stopped by a user)").first.wait_for(timeout=300_000)
            wait_ready(trainer)
            if trainer.locator('[data-testid="stException"]').count():
                errors["exceptions shown"] += 1
                problems.append("exception shown on the Train page")
        time.sleep(3)  # the pages are closed: let the server drop their sessions
        memory.mark("after: run stopped, pages closed")
    finally:
        memory.stop()

    errors["requests outside 127.0.0.1"] = len(blocked)
    errors["tracebacks in the server log"] = server.log_path.read_text(errors="replace").count("Traceback")
    runs = sorted(set(run_folders(server.runs_dir)) - runs_before) if server.runs_dir.is_dir() else []
    info, history = {}, []
    with contextlib.suppress(OSError, ValueError, IndexError):
        info = json.loads((runs[-1] / "run.json").read_text())
        with open(runs[-1] / "history.csv", newline="") as handle:
            history = list(csv.DictReader(handle))
    figures = {
        "machine": f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}",
        "pages": settings.pages,
        "inputs": len(todo),
        **counts,
        "elapsed_s": round(elapsed, 1),
        "served_per_s": round(counts["served"] / elapsed, 2) if elapsed else None,
        "round_median_s": round(statistics.median(round_times), 2) if round_times else None,
        "round_max_s": round(max(round_times), 2) if round_times else None,
        "run": run_line.split(":")[0],
        "training_throughout": still_training,
        "training_progress": progress,
        "training_progress_seen": seen,
        "new_run_folders": len(runs),
        "run_status": info.get("status"),
        "run_steps": int(history[-1]["step"]) if history else 0,
        "run_stop_reason": info.get("stop_reason"),
        "run_has_model": bool(runs) and (runs[-1] / "model.pt").is_file(),
        "rss_mb": {name: None if value is None else round(value, 1) for name, value in memory.marks.items()},
        "rss_peak_mb": None if memory.peak is None else round(memory.peak, 1),
        "rss_each_tenth_mb": [None if value is None else round(value) for value in trajectory],
        "rss_samples": len(memory.samples),
        "problems": problems[:20],
        "blocked": blocked[:10],
    }
    return figures, errors


def report(figures: dict, errors: dict) -> str:
    """The figures as a Markdown table."""
    rss = figures["rss_mb"]
    before, after = rss.get("warm, before the training"), rss.get("after: run stopped, pages closed")
    quarter, end = rss.get("after a quarter of the traffic"), rss.get("end of the traffic")

    def mb(value: float | None) -> str:
        return "n/a" if value is None else f"{value:,.0f} MB"

    def growth(a: float | None, b: float | None) -> str:
        return "n/a" if a is None or b is None else f"{b - a:+,.0f} MB"

    def yes(flag: bool) -> str:
        return "yes" if flag else "NO"

    f = figures
    served = (
        f"{f['served']:,} of {f['inputs']:,}, typed by {f['pages']} browser pages at once ({f['hostile_served']} "
        f"hostile; {f['refused_over_limit']} over the length limit, refused with it; {f['exact_reversals']:,} "
        "reversed exactly)"
    )
    timing = (
        f"{f['elapsed_s']:,.0f} s of traffic, {f['served_per_s']} inputs/s; a round (every page answered) took "
        f"{f['round_median_s']} s at the median, {f['round_max_s']} s at most"
    )
    training = (
        f"{f['run']}: training throughout: {yes(f['training_throughout'])} (its page then said: "
        f"{f['training_progress']}); stopped from its page after {f['run_steps']:,} steps: {f['run_status']} "
        f"({f['run_stop_reason']}), model saved: {yes(f['run_has_model'])}; run folders made: {f['new_run_folders']}"
    )
    memory = (
        f"{mb(rss.get('server up'))} on start; {mb(before)} warm, before the training; {mb(quarter)} after a quarter "
        f"of the traffic; {mb(end)} at its end; {mb(after)} after (run stopped, pages closed); peak "
        f"{mb(f['rss_peak_mb'])}"
    )
    lines = [
        f"Soak: `{f.get('command', 'run_soak')}` on {f['machine']}.",
        "",
        "| | |",
        "|---|---|",
        f"| inputs answered | {served} |",
        f"| errors | {sum(errors.values())} (" + ", ".join(f"{k} {n}" for k, n in errors.items()) + ") |",
        f"| time | {timing} |",
        f"| training meanwhile | {training} |",
        f"| server memory (RSS) | {memory} |",
        f"| memory growth | {growth(before, after)} before to after; {growth(quarter, end)} over the last three "
        "quarters of the traffic |",
        "| RSS after each tenth of the traffic | " + ", ".join(mb(v) for v in f.get("rss_each_tenth_mb", [])) + " |",
        f"| server exit | status {f.get('server_exit')}{EXIT_MEANINGS.get(f.get('server_exit'), '')} |",
    ]
    if f["problems"]:
        lines += ["", "Problems:", *(f"- {problem}" for problem in f["problems"])]
    return "\n".join(lines)


def main() -> int:
    defaults = Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=defaults.sentences, help="inputs to type, over all pages")
    parser.add_argument("--pages", type=int, default=defaults.pages, help="browser pages typing at once")
    parser.add_argument("--max-seconds", type=float, default=defaults.max_seconds, help="longest the traffic goes on")
    parser.add_argument("--hostile-every", type=int, default=defaults.hostile_every, help="every n-th is hostile")
    parser.add_argument("--train-sentences", type=int, default=defaults.train_sentences, help="the run's corpus size")
    parser.add_argument("--timeout-ms", type=int, default=defaults.timeout_ms, help="longest wait for one answer")
    parser.add_argument(
        "--checkpoint", default=os.environ.get(CHECKPOINT_ENV) or str(DEFAULT_CHECKPOINT), help="the served model"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--no-store", action="store_true", help="do not replace benchmarks/results/soak.*")
    args = parser.parse_args()
    if missing_browser():
        parser.error(missing_browser())
    settings = Settings(
        args.sentences, args.pages, args.max_seconds, args.hostile_every, args.train_sentences, args.timeout_ms
    )
    with tempfile.TemporaryDirectory(prefix="seq2seq-soak-") as folder:
        server = Server(Path(args.checkpoint), Path(folder) / "runs", Path(folder) / "streamlit.log")
        try:
            up = server.rss_mb()
            with open_browser() as browser:
                figures, errors = run_soak(server, browser, settings)
        finally:
            exit_code = server.stop()
    figures["rss_mb"] = {"server up": None if up is None else round(up, 1), **figures["rss_mb"]}
    figures.update({"command": "python benchmarks/soak.py " + " ".join(sys.argv[1:]), "server_exit": exit_code})
    figures["checkpoint"] = args.checkpoint
    figures["errors"] = errors
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    print(report(figures, errors))
    if not args.no_store:
        print(f"written to {store('soak', figures, report(figures, errors), figures['command'])}")
    return 1 if sum(errors.values()) or exit_code not in (0, -15) else 0


if __name__ == "__main__":
    sys.exit(main())
