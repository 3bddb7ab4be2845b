"""A browser session of a Streamlit app without a browser: the app's own websocket protocol, spoken as Streamlit's
frontend speaks it, for benchmarks that need many users at once (``benchmarks/classroom.py``).

The frontend keeps one websocket to ``/_stcore/stream`` per tab. It asks for a run with a ``BackMsg`` whose
``rerun_script`` carries the page (its script hash, or its address on a first load), the query string and every widget
value it holds; a widget inside a fragment reruns that fragment only (``fragment_id``). The server answers with
``ForwardMsg``s: ``new_session`` when a run starts, ``delta``s that put an element or a block at a path of the page
tree, ``page_info_changed`` (the new query string), ``auto_rerun`` (a fragment with ``run_every``: the frontend asks
for it again at that interval, whatever else happens) and ``script_finished``. This client does the same: it keeps the
page tree (stale nodes dropped when a run ends, as the frontend does), the query string and the widget values it set,
answers ``auto_rerun`` with reruns, and times every delta as it arrives.

What it does not do is draw: a time here is when the server's answer reached the client, not when a browser showed
it (``harness/browser.py`` drives a real browser). Errors a person would see are kept in ``problems``: an exception
box, a page not found, a script that did not compile, and the websocket closed by the server.
"""

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.WidgetStates_pb2 import WidgetState

Path = tuple[int, ...]  # a node's place in the page tree: the container (0 main, 1 sidebar), then indexes
FINISHED = ForwardMsg.ScriptFinishedStatus
DONE = (
    FINISHED.FINISHED_SUCCESSFULLY,
    FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
    FINISHED.FINISHED_WITH_COMPILE_ERROR,
)


T = TypeVar("T")


def run_apart(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end in an event loop of its own, on a thread of its own: where the calling thread
    already runs one (Playwright's sync API keeps one going while a browser is open), ``asyncio.run`` is refused."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


class SessionClosed(ConnectionError):
    """The server closed the websocket (or it dropped) while the session waited for an answer."""


@dataclass
class Node:
    """An element or a block on the page, with the run and the fragment that last sent it."""

    kind: str  # the element's type ("text", "alert", "button", ...) or "block"
    proto: Any  # the Element's field of that type, or the Block
    run: str
    fragment: str


@dataclass
class Arrival:
    """One delta, as it reached the client: when (``time.perf_counter()``), where, and what."""

    at: float
    path: Path
    node: Node


@dataclass
class Run:
    """What the server sent for one request: every delta from the request until the run it asked for finished (runs
    ended early by a newer request included), and how that run ended."""

    sent: float
    fragment: str  # "" for the whole page
    arrivals: list[Arrival] = field(default_factory=list)
    finished: float | None = None
    status: int | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    others: list[str] = field(default_factory=list)  # how the runs that were not its own ended meanwhile

    def keyed_text(self, key: str) -> list[tuple[float, str]]:
        """(arrival, body) of every ``st.text`` sent in this run inside the container keyed ``key``."""
        blocks = {a.path for a in self.arrivals if a.node.kind == "block" and a.node.proto.id.endswith(f"-{key}")}
        return [(a.at, a.node.proto.body) for a in self.arrivals if a.node.kind == "text" and a.path[:-1] in blocks]

    def texts(self, kind: str) -> list[str]:
        """The ``body`` of every element of ``kind`` ("alert", "heading", "markdown", ...) sent in this run."""
        return [a.node.proto.body for a in self.arrivals if a.node.kind == kind]


class AppSession:
    """One tab of the app: ``async with AppSession(url) as tab: await tab.open("Train")``.

    One request at a time per session, as a person acts; ``timeout`` bounds every wait for an answer."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + "/_stcore/stream"
        self.timeout = timeout
        self.tree: dict[Path, Node] = {}
        self.widgets: dict[str, WidgetState] = {}
        self.query = ""
        self.page_hash = ""
        self.pages: dict[str, str] = {}  # address ("" for the home page) -> page script hash
        self.problems: list[str] = []
        self.closed_by_server = False
        self._socket = None
        self._reader: asyncio.Task | None = None
        self._auto_reruns: dict[str, asyncio.Task] = {}
        self._pending: Run | None = None
        self._run_id = ""
        self._run_fragments: tuple[str, ...] = ()
        self._closing = False
        self._address = ""  # the page last opened
        self._idle = asyncio.Event()  # no run of this session going on: the page is whole

    async def __aenter__(self) -> "AppSession":
        # No pings from this side: a browser's frontend sends none (pings from the server are answered).
        self._socket = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None, ping_interval=None)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *_exc) -> None:
        self._closing = True
        self._stop_auto_reruns()
        with contextlib.suppress(Exception):
            await self._socket.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    # ------------------------------------------------------------------------------------------------- actions
    async def open(self, address: str = "", query: str = "") -> Run:
        """Go to the page at ``address`` ("" for the home page) with ``query`` as its query string, as a click in the
        page menu or a link does: the widget values of the page left are dropped, and so are its auto-reruns."""
        self._stop_auto_reruns()
        self.widgets.clear()
        self.query, self._address = query, address
        page_hash = self.pages.get(address, "")
        return await self._rerun(page_hash=page_hash, page_name="" if page_hash else address)

    async def type(self, key: str, text: str) -> Run:
        """Type ``text`` into the text box keyed ``key`` and press Enter."""
        state = self._widget(key, "text_input")
        state.string_value = text
        return await self._rerun(fragment=self.tree[self._find(key)].fragment)

    async def set_number(self, key: str, value: float) -> Run:
        """Type ``value`` into the number box keyed ``key`` and press Enter."""
        node = self.tree[self._find(key)]
        state = self._widget(key, "number_input")
        if node.proto.data_type == NumberInput.INT:
            state.int_value = int(value)
        else:
            state.double_value = float(value)
        return await self._rerun(fragment=node.fragment)

    async def click(self, key: str) -> Run:
        """Press the button keyed ``key`` (its trigger is sent with this one request only)."""
        node = self.tree[self._find(key)]
        trigger = WidgetState(id=node.proto.id, trigger_value=True)
        return await self._rerun(fragment=node.fragment, extra=[trigger])

    # ------------------------------------------------------------------------------------------------- reading
    def elements(self, kind: str) -> list[Any]:
        """Every element of ``kind`` on the page now, in page order."""
        return [node.proto for _, node in sorted(self.tree.items()) if node.kind == kind]

    async def settled(self) -> None:
        """Wait until no run of this session is going on (its live view's included): the page as a whole, not half
        of it new."""
        await asyncio.wait_for(self._idle.wait(), self.timeout)

    # ------------------------------------------------------------------------------------------------- internals
    @staticmethod
    def _keyed(node: Node, key: str) -> bool:
        return node.kind != "block" and str(getattr(node.proto, "id", "")).endswith(f"-{key}")

    def _find(self, key: str) -> Path:
        for path, node in self.tree.items():
            if self._keyed(node, key):
                return path
        raise KeyError(f"no widget keyed {key!r} on the page")

    def _widget(self, key: str, kind: str) -> WidgetState:
        node = self.tree[self._find(key)]
        if node.kind != kind:
            raise TypeError(f"the widget keyed {key!r} is a {node.kind}, not a {kind}")
        state = self.widgets.setdefault(node.proto.id, WidgetState(id=node.proto.id))
        return state

    def _message(self, page_hash: str, page_name: str = "", fragment: str = "", auto: bool = False,
                 extra: list[WidgetState] = ()) -> bytes:  # fmt: skip
        back = BackMsg()
        rerun = back.rerun_script
        rerun.query_string = self.query
        rerun.page_script_hash = page_hash
        rerun.page_name = page_name
        rerun.fragment_id = fragment
        rerun.is_auto_rerun = auto
        rerun.widget_states.widgets.extend([*self.widgets.values(), *extra])
        return back.SerializeToString()

    async def _rerun(self, page_hash: str | None = None, page_name: str = "", fragment: str = "",
                     extra: list[WidgetState] = ()) -> Run:  # fmt: skip
        if self.closed_by_server:
            raise SessionClosed(f"the server closed the session ({self.problems[-1] if self.problems else ''})")
        run = Run(sent=time.perf_counter(), fragment=fragment)
        self._pending = run
        page = self.page_hash if page_hash is None else page_hash
        try:
            await self._socket.send(self._message(page, page_name, fragment, extra=extra))
        except websockets.ConnectionClosed:
            self._pending = None
            raise SessionClosed("the websocket is closed") from None
        try:
            await asyncio.wait_for(run.done.wait(), self.timeout)
        except TimeoutError:
            asked = f"fragment {fragment[:8]}" if fragment else f"page {page_name or page[:8]}"
            seen = ", ".join(run.others[-5:]) or "none"
            raise TimeoutError(
                f"no end within {self.timeout:g} s to a rerun of {asked} ({len(run.arrivals)} elements of it arrived; "
                f"other runs ended meanwhile: {len(run.others)}, the last: {seen})"
            ) from None
        finally:
            self._pending = None
        if run.status is None:
            raise SessionClosed(f"the server closed the session ({self.problems[-1] if self.problems else ''})")
        return run

    async def _auto_rerun(self, fragment: str, interval: float) -> None:
        """What the frontend's ``setInterval`` does for a ``run_every`` fragment: ask for it every ``interval``."""
        with contextlib.suppress(websockets.ConnectionClosed):  # the reader reports a closed websocket
            while True:
                await asyncio.sleep(interval)
                await self._socket.send(self._message(self.page_hash, fragment=fragment, auto=True))

    def _stop_auto_reruns(self, fragments: list[str] | None = None) -> None:
        for fragment in list(self._auto_reruns) if fragments is None else fragments:
            task = self._auto_reruns.pop(fragment, None)
            if task is not None:
                task.cancel()

    async def _read(self) -> None:
        try:
            async for data in self._socket:
                message = ForwardMsg()
                message.ParseFromString(data)
                self._handle(message, time.perf_counter())
        except websockets.ConnectionClosed:
            pass
        finally:
            if not self._closing:
                self.closed_by_server = True
                self.problems.append("websocket closed by the server")
                self._stop_auto_reruns()
                if self._pending is not None:
                    self._pending.done.set()  # status None: the request's wait fails with SessionClosed

    def _handle(self, message: ForwardMsg, at: float) -> None:
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self._idle.clear()
            self._run_id = message.metadata.run.script_run_id
            self._run_fragments = tuple(message.metadata.run.fragment_ids)
            if not self._run_fragments:
                self._stop_auto_reruns()  # a whole-page run: the frontend drops every interval (the page sets its own)
        elif kind == "navigation":
            self.pages = {page.url_pathname: page.page_script_hash for page in message.navigation.app_pages}
            self.page_hash = message.navigation.page_script_hash  # the page shown (``st.navigation``'s choice)
        elif kind == "page_info_changed":
            self.query = message.page_info_changed.query_string
        elif kind == "auto_rerun":
            fragment, interval = message.auto_rerun.fragment_id, message.auto_rerun.interval
            if fragment and fragment not in self._auto_reruns:
                self._auto_reruns[fragment] = asyncio.create_task(self._auto_rerun(fragment, interval))
        elif kind == "stop_auto_rerun":
            self._stop_auto_reruns(list(message.stop_auto_rerun.fragment_ids))
        elif kind == "delta":
            self._delta(message, at)
        elif kind == "page_not_found":
            self.problems.append(f"page not found: {message.page_not_found.page_name or self._address!r}")
        elif kind == "session_event" and message.session_event.HasField("script_compilation_exception"):
            self.problems.append(
                f"script did not compile: {message.session_event.script_compilation_exception.message}"
            )
        elif kind == "script_finished":
            self._finished(message.script_finished, at)

    def _delta(self, message: ForwardMsg, at: float) -> None:
        delta = message.delta
        path = tuple(message.metadata.delta_path)
        which = delta.WhichOneof("type")
        if which == "new_element":
            element = delta.new_element
            node = Node(element.WhichOneof("type"), None, self._run_id, delta.fragment_id)
            node.proto = getattr(element, node.kind)
            if node.kind == "exception":
                self.problems.append(f"exception shown: {node.proto.type}: {node.proto.message}")
        elif which == "add_block":
            node = Node("block", delta.add_block, self._run_id, delta.fragment_id)
        else:
            return  # rows added to a chart or table: nothing this client reads
        self.tree[path] = node
        if self._pending is not None:
            self._pending.arrivals.append(Arrival(at, path, node))

    def _finished(self, status: int, at: float) -> None:
        """Drop what this run did not send again (for a fragment's run, within its fragments only), then hand the run
        to the request waiting for it."""
        if status in DONE:  # a run ended early for a newer one: that one starts next
            self._idle.set()
        if status == FINISHED.FINISHED_SUCCESSFULLY:
            self.tree = {p: n for p, n in self.tree.items() if n.run == self._run_id}
        elif status == FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
            self.tree = {
                p: n for p, n in self.tree.items() if n.run == self._run_id or n.fragment not in self._run_fragments
            }
        run = self._pending
        if run is None:
            return
        other = (run.fragment and run.fragment not in self._run_fragments) or (not run.fragment and self._run_fragments)
        if status not in DONE or other:  # ended early for a newer request, or another fragment's run (an auto-rerun)
            run.others.append(f"{FINISHED.Name(status)} {','.join(f[:8] for f in self._run_fragments) or 'page'}")
            return
        run.finished, run.status = at, status
        run.done.set()
