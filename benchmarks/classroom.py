"""A whole class on one server, run by hand: simulated students type sentences, open the Decoder and Compare, and some
of them train, all at once; Enter latency, errors, the server's memory and every Start's outcome are recorded.

    python benchmarks/classroom.py                       # 30 students, 10 of them pressing Start
    python benchmarks/classroom.py --students 5 --trainers 2 --no-store   # a quick trial

It starts ``streamlit run streamlit_app.py`` on 127.0.0.1 (a free port, runs in a temporary folder, the shipped
model). First ONE student alone opens Try it and answers ``--sentences`` sentences, pausing before each as every
student of the class does (an Enter sent the moment the last answer arrives is slower: both are timed alike), each
Enter timed: the one-user median. Then the class: ``--students`` students arrive over ``--arrive-over`` seconds; each
opens Try it, answers ``--sentences`` sentences (a pause of ``--think`` seconds on average before each, as a person
types; every sentence is a test sentence new to the server, so no answer comes from another student's cache), then
opens the Decoder and Compare on its last sentence. The first ``--trainers`` students also open the Train page in a
second tab when they arrive, set a tiny run with the page's own widgets (``TINY_RUN``: tens of seconds of training),
press Start and keep that tab open, its live view refreshing, until their run has ended (a Start that waits its
turn in the training queue is watched until its run trains, then until it ends). Every Start must end trained to its
end or cancelled by its owner: any other ending (refused, failed, cut off, never started by ``--train-deadline``) is a
lost run, and an error.

Enter latency is the time from sending Enter until the server's answer holding both reversal boxes (the model's
and the true one, with the expected words) has reached the student; must hold: its 95th percentile with the class
at most ``RATIO_GOAL`` times the one-user median of the same run. Errors: an exception box on any page, a page not
found, a script that did not compile, a websocket the server closed, an answer not within ``--timeout``, a wrong true
reversal, a lost run, a traceback in the server's log. The server's resident memory (``VmRSS`` in
``/proc/<pid>/status``) is sampled every second; its growth over the last half of the class is the trend of those
samples (a least-squares line through them, from the half-way moment to the end), flat when within ``RSS_SLACK`` of
the half-way RSS. A trend, not two moments: a run starting or ending moves the RSS for a while. Each run trains in
a child process of the server, whose memory is not the server's: the children's RSS together is sampled too (its
peak is reported).

How the students are simulated: not by browsers. Each Chromium context holds a whole Streamlit frontend (React, the
page's scripts, Plotly), and a trial of ten contexts on the two-core machine held gigabytes of memory and kept both
cores busy drawing, so thirty would measure Chromium, not the server. Each student is instead a client of Streamlit's
own websocket protocol (``harness/streamlit_client.py``): the messages a browser's frontend sends (the page, the query
string, every widget value, the fragment a widget belongs to, the auto-reruns of a live view) and the answers it
reads, all students in one asyncio process. What it leaves out is drawing: a time is when the answer reached the
student, not when a browser showed it (``benchmarks/app_latency.py`` times a real browser, one user). That process's
own heap (torch, the checkpoint it reads sentences from) is set aside from its garbage collection (``gc.freeze``)
before the first student: a full pass over it paused every student at once, a pause of the client, not the server.

It prints a Markdown table and writes ``benchmarks/results/classroom.json`` and ``.md`` (``benchmarks/stored.py``),
which ``docs/classroom.md`` quotes; ``--no-store`` leaves them as they are. Exit status 1 on any error or lost run.
"""

import argparse
import asyncio
import gc
import os
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.soak import EXIT_MEANINGS, MemoryWatch  # noqa: E402
from benchmarks.stored import store  # noqa: E402
from harness.browser import Server  # noqa: E402
from harness.streamlit_client import AppSession, Run, SessionClosed  # noqa: E402
from seq2seq.app.runs import read_run_info  # noqa: E402
from seq2seq.checkpoint import load_checkpoint  # noqa: E402
from seq2seq.paths import DEFAULT_CHECKPOINT  # noqa: E402

RATIO_GOAL = 3.0  # the must-hold: Enter's 95th percentile with the class <= this x the one-user median
RSS_WINDOW_S = 5.0  # the RSS at a moment (as the class began, half-way, at its end): the samples this close, median
# Over the last half the RSS may move by this share of its half-way value and count as flat: a training run's tensors
# and the answers on their way out come and go; more than that is growth.
RSS_SLACK = 0.02
# The Train page's widgets (by key) and the values a trainer types: a run of tens of seconds.
TINY_RUN = {"corpus_size": 300, "epochs": 20, "valid_size": 50, "test_size": 50, "evals_per_epoch": 1}
STARTED = re.compile(r"Started run (\S+)\.")
QUEUED = "Queued:"  # the training queue's answer to a Start that waits its turn
WAITING = "Your run is queued"  # what the Train page says while this session's run waits
RUN_HEADING = re.compile(r"^Run (\S+): ")  # the live view's heading, naming the run it shows
ENDED = ("finished", "failed", "interrupted")  # a run.json status that will not change again


@dataclass
class Settings:
    students: int = 30
    trainers: int = 10
    sentences: int = 10  # Enters per student
    think: float = 4.0  # mean seconds before each Enter (uniform over 0.5x-1.5x)
    arrive_over: float = 20.0  # the students arrive evenly over this many seconds
    train_deadline: float = 900.0  # a Start not trained to its end this long after its press is lost
    timeout: float = 120.0  # longest wait for one answer
    seed: int = 21


@dataclass
class Start:
    """One trainer's Start, from its press to its run's end."""

    student: int
    queued: bool = False  # the training queue took it to start later
    run: str | None = None
    wait_s: float | None = None  # press -> its run started
    answer: str = ""  # what the page said to a Start that neither started nor queued its run
    status: str | None = None  # the run's run.json status and stop reason at the end
    stop_reason: str | None = None
    outcome: str = "lost"  # "trained", "cancelled" or "lost"


@dataclass
class Tally:
    enters: list[float] = field(default_factory=list)
    enters_at: list[float] = field(default_factory=list)  # when each was sent (time.time(), as run.json's times)
    opens: dict[str, list[float]] = field(default_factory=lambda: {"Try it": [], "Decoder": [], "Compare": []})
    errors: dict[str, int] = field(
        default_factory=lambda: {
            "exceptions shown": 0,
            "pages not found": 0,
            "scripts that did not compile": 0,
            "websockets closed by the server": 0,
            "timeouts": 0,
            "wrong answers": 0,
            "client errors": 0,
            "lost runs": 0,
            "tracebacks in the server log": 0,
        }
    )
    problems: list[str] = field(default_factory=list)
    starts: list[Start] = field(default_factory=list)

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        if len(self.problems) < 30:
            self.problems.append(f"{kind}: {what}")

    def collect(self, session: AppSession, who: str) -> None:
        """The problems a session saw (exception boxes, pages not found, closed websockets), counted by kind."""
        kinds = {
            "exception shown": "exceptions shown",
            "page not found": "pages not found",
            "script did not compile": "scripts that did not compile",
            "websocket closed": "websockets closed by the server",
        }
        for problem in session.problems:
            kind = next(k for prefix, k in kinds.items() if problem.startswith(prefix))
            self.error(kind, f"{who}: {problem}")


def class_sentences(checkpoint: Path, count: int) -> list[str]:
    """``count`` different test sentences of 4-12 words (none typed twice on the server)."""
    tests = [" ".join(s) for s in load_checkpoint(checkpoint).test_sentences if 4 <= len(s) <= 12]
    picks = list(dict.fromkeys(tests))[:count]
    if len(picks) < count:
        raise SystemExit(f"the model's test split holds {len(picks)} sentences of 4-12 words; {count} are needed")
    return picks


def reversal_time(run: Run, sentence: str) -> float | None:
    """Seconds from Enter until both reversal boxes had arrived with the expected words, or None if they did not."""
    expected = " ".join(reversed(sentence.split()))
    model = run.keyed_text("model_reversal")
    true = [at for at, body in run.keyed_text("true_reversal") if body == expected]
    if not model or not true:
        return None
    return max(model[0][0], true[0]) - run.sent


async def answer(tab: AppSession, sentence: str, tally: Tally, who: str) -> float | None:
    """Type ``sentence`` into Try it, press Enter; the seconds until its reversal arrived (counted in ``tally``)."""
    run = await tab.type("sentence", sentence)
    took = reversal_time(run, sentence)
    if took is None:
        shown = [body for _, body in run.keyed_text("true_reversal")] or run.texts("alert")
        tally.error("wrong answers", f"{who}: {sentence!r} -> {shown[:1]}")
    return took


async def solo(url: str, sentences: list[str], settings: Settings, tally: Tally) -> list[float]:
    """One student alone, as each student of the class: Try it, then each sentence after a pause."""
    times, think = [], random.Random(settings.seed * 1000 - 1)
    async with AppSession(url, settings.timeout) as tab:
        await tab.open()
        for sentence in sentences:
            await asyncio.sleep(think.uniform(0.5, 1.5) * settings.think)
            took = await answer(tab, sentence, tally, "the student alone")
            if took is not None:
                times.append(took)
        tally.collect(tab, "the student alone")
    return times


async def student(
    number: int, url: str, runs_dir: Path, sentences: list[str], settings: Settings, tally: Tally
) -> None:
    who = f"student {number}"
    think = random.Random(settings.seed * 1000 + number)
    await asyncio.sleep(settings.arrive_over * number / max(settings.students, 1))
    training = (
        asyncio.create_task(trainer(number, url, runs_dir, settings, tally)) if number < settings.trainers else None
    )
    try:
        async with AppSession(url, settings.timeout) as tab:
            try:
                run = await tab.open()
                tally.opens["Try it"].append(run.finished - run.sent)
                for sentence in sentences:
                    await asyncio.sleep(think.uniform(0.5, 1.5) * settings.think)
                    sent = time.time()
                    took = await answer(tab, sentence, tally, who)
                    if took is not None:
                        tally.enters.append(took)
                        tally.enters_at.append(sent)
                for page in ("Decoder", "Compare"):
                    run = await tab.open(page, urlencode({"sentence": sentences[-1]}))
                    tally.opens[page].append(run.finished - run.sent)
            finally:
                tally.collect(tab, who)
    except TimeoutError as problem:
        tally.error("timeouts", f"{who}: {problem}")
    except SessionClosed:
        pass  # counted from the session's problems
    except Exception as problem:  # noqa: BLE001 - a client that broke is an error of the run, not its end
        tally.error("client errors", f"{who}: {type(problem).__name__}: {problem}")
    if training is not None:
        await training


async def trainer(number: int, url: str, runs_dir: Path, settings: Settings, tally: Tally) -> None:
    """A second tab on the Train page: a tiny run set with the page's widgets, Start pressed, and the tab kept open,
    its live view refreshing, until the run has ended."""
    who = f"student {number}'s Train tab"
    start = Start(number)
    tally.starts.append(start)
    try:
        async with AppSession(url, settings.timeout) as tab:
            try:
                await tab.open("Train")
                for key, value in TINY_RUN.items():
                    await tab.set_number(key, value)
                pressed = time.perf_counter()
                deadline = pressed + settings.train_deadline
                await press_start(tab, start)
                if start.queued:
                    start.run = await when_mine_trains(tab, deadline)
                    start.wait_s = time.perf_counter() - pressed if start.run else None
                while start.run and time.perf_counter() < deadline:
                    if read_run_info(runs_dir / start.run).get("status") in ENDED:
                        break
                    await asyncio.sleep(1.0)
            finally:
                tally.collect(tab, who)
    except TimeoutError as problem:
        tally.error("timeouts", f"{who}: {problem}")
    except SessionClosed:
        pass
    except Exception as problem:  # noqa: BLE001
        tally.error("client errors", f"{who}: {type(problem).__name__}: {problem}")


async def press_start(tab: AppSession, start: Start) -> None:
    """Press Start: the run starts, or waits its turn in the queue; anything else the page says is kept in
    ``start.answer``."""
    pressed = time.perf_counter()
    run = await tab.click("start_training")
    said = run.texts("alert")
    started = next((m.group(1) for m in map(STARTED.search, said) if m), None)
    if started:
        start.run, start.wait_s = started, time.perf_counter() - pressed
    elif any(text.startswith(QUEUED) for text in said):
        start.queued = True
    else:
        start.answer = " | ".join(said)[:200]


async def when_mine_trains(tab: AppSession, deadline: float) -> str | None:
    """The name of this tab's queued run once it trains: the page, read between its runs, no longer says the run
    waits and heads the live view with it. None if that does not happen by ``deadline``."""
    while time.perf_counter() < deadline:
        await tab.settled()
        alerts = [alert.body for alert in tab.elements("alert")]
        if not any(WAITING in alert for alert in alerts):
            names = [m.group(1) for m in (RUN_HEADING.match(h.body) for h in tab.elements("heading")) if m]
            if names:
                return names[0]
        await asyncio.sleep(0.5)
    return None


def settle_starts(tally: Tally, runs_dir: Path) -> None:
    """Each Start's outcome from its run folder, once the server has stopped: trained to its end, cancelled by its
    owner, or lost."""
    for start in tally.starts:
        info = read_run_info(runs_dir / start.run) if start.run else {}
        start.status, start.stop_reason = info.get("status"), info.get("stop_reason")
        if start.status == "finished" and start.stop_reason in ("epochs", "target_accuracy"):
            start.outcome = "trained"
        elif start.status == "finished" and start.stop_reason == "stopped":
            start.outcome = "cancelled"
        else:
            start.outcome = "lost"
            said = start.answer or (
                f"run {start.run}: {start.status} ({start.stop_reason})" if start.run else "its run never started"
            )
            tally.error("lost runs", f"student {start.student}'s Start: {said}")


def training_spans(runs_dir: Path) -> list[tuple[float, float]]:
    """(started, ended) of every run the server trained, from the run folders' ``run.json``."""
    infos = [read_run_info(path) for path in runs_dir.iterdir()] if runs_dir.is_dir() else []
    return [(i["started_at"], i["finished_at"]) for i in infos if i.get("started_at") and i.get("finished_at")]


async def class_session(url: str, runs_dir: Path, sentences: list[list[str]], settings: Settings, tally: Tally) -> None:
    await asyncio.gather(*(student(n, url, runs_dir, sentences[n], settings, tally) for n in range(settings.students)))


def at_moment(samples: list[tuple[float, float]], moment: float) -> float | None:
    near = [rss for at, rss in samples if abs(at - moment) <= RSS_WINDOW_S]
    return statistics.median(near) if near else None


def trend(samples: list[tuple[float, float]], span: float) -> float | None:
    """How much a least-squares line through ``samples`` (time, MB) rises over ``span`` seconds."""
    if len(samples) < 2:
        return None
    return statistics.linear_regression(*zip(*samples, strict=True)).slope * span


def p95(values: list[float]) -> float:
    """The 95th percentile, linear between the closest ranks."""
    return values[0] if len(values) == 1 else statistics.quantiles(values, n=20, method="inclusive")[-1]


def measure(settings: Settings, checkpoint: Path) -> dict:
    sentences = class_sentences(checkpoint, settings.sentences * (settings.students + 1))
    alone, rest = sentences[: settings.sentences], sentences[settings.sentences :]
    per_student = [rest[n * settings.sentences : (n + 1) * settings.sentences] for n in range(settings.students)]
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="seq2seq-classroom-") as folder:
        runs_dir = Path(folder) / "runs"
        server = Server(checkpoint, runs_dir, Path(folder) / "streamlit.log")
        load_before = os.getloadavg()
        memory = MemoryWatch(server, every=1.0)
        # Each run trains in a child process of the server (seq2seq/app/process_worker.py): its memory is not the
        # server's, so it is sampled beside it.
        training_memory = MemoryWatch(SimpleNamespace(rss_mb=server.children_rss_mb), every=1.0)
        try:
            rss_up = server.rss_mb()
            # The students' own process holds torch and the model's checkpoint: set aside from its garbage collection,
            # whose full pass over them would pause every student at once and count as the server's time.
            gc.freeze()
            solo_times = asyncio.run(solo(server.url, alone, settings, tally))
            class_start = time.monotonic()
            asyncio.run(class_session(server.url, runs_dir, per_student, settings, tally))
            class_end = time.monotonic()
            time.sleep(RSS_WINDOW_S)  # every session closed: what the server keeps
            rss_after = server.rss_mb()
        finally:
            memory.stop()
            training_memory.stop()
            exit_code = server.stop()
        load_after = os.getloadavg()
        settle_starts(tally, runs_dir)
        spans = training_spans(runs_dir)
        tally.errors["tracebacks in the server log"] = server.log(last=10**8).count("Traceback")
    samples = [(at, rss) for at, rss in memory.samples if class_start <= at <= class_end]
    half = (class_start + class_end) / 2
    outcomes = {kind: sum(s.outcome == kind for s in tally.starts) for kind in ("trained", "cancelled", "lost")}
    waits = [s.wait_s for s in tally.starts if s.wait_s is not None]
    return {
        "settings": vars(settings),
        "tiny_run": TINY_RUN,
        "enter_alone_s": solo_times,
        "enter_class_s": tally.enters,
        "enter_class_while_training": [any(a <= at <= b for a, b in spans) for at in tally.enters_at],
        "open_s": tally.opens,
        "errors": tally.errors,
        "problems": tally.problems,
        "starts": [vars(s) for s in sorted(tally.starts, key=lambda s: s.student)],
        "outcomes": outcomes,
        "start_waits_s": waits,
        "queued": sum(s.queued for s in tally.starts),
        "class_seconds": class_end - class_start,
        "rss_mb": {
            "server up": rss_up,
            "class start": at_moment(samples, class_start),
            "half-way": at_moment(samples, half),
            "end": at_moment(samples, class_end),
            "peak": max((rss for _, rss in samples), default=None),
            "after": rss_after,
        },
        "rss_samples_mb": [round(rss, 1) for _, rss in samples],
        "children_rss_peak_mb": training_memory.peak,
        "rss_growth_last_half_mb": trend([(at, rss) for at, rss in samples if at >= half], class_end - half),
        "load_average": {"before": load_before, "after": load_after},
        "server_exit": exit_code,
    }


# ------------------------------------------------------------------------------------------------- report
def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def spread(values: list[float]) -> str:
    if not values:
        return "none"
    return f"{ms(statistics.median(values))} / {ms(p95(values))} / {ms(max(values))}"


def report(figures: dict) -> str:
    """The figures as a Markdown table; every verdict is computed from them."""
    s, f = figures["settings"], figures
    alone, crowd = f["enter_alone_s"], f["enter_class_s"]
    training = [t for t, busy in zip(crowd, f["enter_class_while_training"], strict=True) if busy]
    idle = [t for t, busy in zip(crowd, f["enter_class_while_training"], strict=True) if not busy]
    ratio = p95(crowd) / statistics.median(alone) if alone and crowd else None
    errors = sum(f["errors"].values())
    outcomes, starts = f["outcomes"], f["starts"]
    rss, growth = f["rss_mb"], f["rss_growth_last_half_mb"]
    typed = s["students"] * s["sentences"]

    def mb(value: float | None) -> str:
        return "n/a" if value is None else f"{value:,.0f} MB"

    def holds(flag: bool) -> str:
        return "holds" if flag else "**does not hold**"

    ratio_text = "n/a" if ratio is None else f"{ratio:.2f}x"
    waits = f["start_waits_s"]
    wait_text = f"{statistics.median(waits):.1f} s median, {max(waits):.1f} s at most" if waits else "no run started"
    queued = f"; {f['queued']} of them waited their turn in the queue" if f["queued"] else ""
    error_text = ", ".join(f"{kind} {n}" for kind, n in f["errors"].items() if n) or "none"
    slack = None if rss["half-way"] is None else RSS_SLACK * rss["half-way"]
    flat = growth is not None and slack is not None and growth <= slack
    growth_text = "n/a" if growth is None else f"{growth:+,.0f} MB"
    lines = [
        f"{s['students']} students on one server ({s['trainers']} of them training), "
        f"{s['sentences']} sentences each after a pause of {s['think']:g} s on average, arriving over "
        f"{s['arrive_over']:g} s; the class took {f['class_seconds']:.0f} s. Load average (1 min) "
        f"{f['load_average']['before'][0]:.1f} before, {f['load_average']['after'][0]:.1f} after.",
        "",
        "| measure | measured | must hold |",
        "|---|---|---|",
        f"| Enter -> reversal, one student alone (median of {len(alone)}) | {ms(statistics.median(alone)) if alone else 'none'} |  |",  # noqa: E501
        f"| Enter -> reversal, the class (median / 95th percentile / worst of {len(crowd)}) | {spread(crowd)} |  |",
        *(
            f"| ... while {when} (median / 95th percentile / worst of {len(times)}) | {spread(times)} |  |"
            for when, times in (("a run trained", training), ("no run trained", idle))
        ),
        f"| the class's 95th percentile against the one-student median | {ratio_text} | <= {RATIO_GOAL:g}x: "
        f"{holds(ratio is not None and ratio <= RATIO_GOAL and len(crowd) == typed)} |",
        *(
            f"| open {page} (median / 95th percentile / worst of {len(times)}) | {spread(times)} |  |"
            for page, times in f["open_s"].items()
        ),
        f"| errors | {errors} ({error_text}) | none: {holds(errors == 0)} |",
        f"| Starts | {len(starts)}: {outcomes['trained']} trained to their end, {outcomes['cancelled']} cancelled, "
        f"{outcomes['lost']} lost{queued} | none lost: {holds(outcomes['lost'] == 0)} |",
        f"| Start -> its run started | {wait_text} |  |",
        f"| server memory (RSS) | {mb(rss['server up'])} up; {mb(rss['class start'])} as the class began, "
        f"{mb(rss['half-way'])} half-way, {mb(rss['end'])} at its end; peak {mb(rss['peak'])}; {mb(rss['after'])} "
        f"with every session closed |  |",
        f"| RSS growth over the last half of the class (its trend) | {growth_text} | none (within {RSS_SLACK:.0%}): "
        f"{holds(flat)} |",
        *(  # a run stored before runs trained in child processes has none
            [f"| its child processes (each run training is one), together | peak {mb(f['children_rss_peak_mb'])} |  |"]
            if "children_rss_peak_mb" in f
            else []
        ),
        f"| server exit | status {f['server_exit']}{EXIT_MEANINGS.get(f['server_exit'], '')} |  |",
    ]
    if f["problems"]:
        lines += ["", "Problems:", *(f"- {problem}" for problem in f["problems"])]
    return "\n".join(lines)


def main() -> int:
    defaults = Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, value in vars(defaults).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--no-store", action="store_true", help="do not replace benchmarks/results/classroom.*")
    args = parser.parse_args()
    settings = Settings(**{name: getattr(args, name) for name in vars(defaults)})
    if not 0 <= settings.trainers <= settings.students:
        parser.error("--trainers must be between 0 and --students")
    figures = measure(settings, Path(args.checkpoint))
    figures["command"] = " ".join(["python benchmarks/classroom.py", *sys.argv[1:]])
    table = report(figures)
    print(table)
    if not args.no_store:
        print(f"written to {store('classroom', figures, table, figures['command'])}")
    failed = sum(figures["errors"].values()) or figures["server_exit"] not in (0, -15)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
