"""``harness/streamlit_client.py`` against a real ``streamlit run`` of a small two-page app: what it sends is what a
browser tab sends (the page, the query, widget values, the fragment, auto-reruns), and what it keeps is what the tab
would show."""

import asyncio
import time

import pytest

from harness.browser import Server
from harness.streamlit_client import AppSession, SessionClosed, run_apart

APP = """
import streamlit as st


def home():
    st.title("Home")
    count = st.number_input("Count", 0, 100, 1, key="count")
    st.text(f"doubled {count * 2}")
    if st.button("Boom", key="boom"):
        raise ValueError("boom")

    @st.fragment
    def echo():
        words = st.text_input("Words", key="words")
        with st.container(key="echo"):
            st.text(" ".join(reversed(words.split())))
        if not words:
            st.text("nothing typed yet")  # last in the fragment: gone once a sentence is typed

    echo()

    @st.fragment(run_every=0.2)
    def ticks():
        st.session_state.ticks = st.session_state.get("ticks", 0) + 1
        st.text(f"tick {st.session_state.ticks}")

    ticks()
    if not st.button("Hide", key="hide"):
        st.text("shown unless hidden")  # last on the page: hidden, nothing else takes its place


def other():
    st.title("Other")
    st.text(f"ticks {st.session_state.get('ticks', 0)} query {dict(st.query_params)}")


st.navigation([st.Page(home, title="Home", default=True), st.Page(other, title="Other", url_path="other")]).run()
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("client")
    (folder / "app.py").write_text(APP, encoding="utf-8")
    running = Server(folder / "model.pt", folder / "runs", folder / "streamlit.log", script=folder / "app.py")
    yield running
    running.stop()


def in_session(server, actions):
    """Run ``actions(tab)`` (a coroutine function) in a new session of ``server``; return what it returns."""

    async def main():
        async with AppSession(server.url, timeout=30) as tab:
            return await actions(tab)

    return asyncio.run(main())


def texts(tab: AppSession) -> list[str]:
    return [element.body for element in tab.elements("text")]


def test_typing_in_a_fragment_reruns_only_the_fragment_and_times_its_answer(server):
    async def actions(tab):
        opened = await tab.open()
        before = texts(tab)
        run = await tab.type("words", "the cat sat")
        return opened, before, run, texts(tab)

    opened, before, run, shown = in_session(server, actions)
    assert opened.status == 0 and run.status == 3  # the whole page, then the fragment alone
    ((arrived, body),) = run.keyed_text("echo")
    assert body == "sat cat the" and run.sent < arrived <= run.finished
    assert "doubled 2" not in [a.node.proto.body for a in run.arrivals if a.node.kind == "text"]  # not sent again
    assert "doubled 2" in shown and "sat cat the" in shown  # but still on the page
    assert "nothing typed yet" in before and "nothing typed yet" not in shown  # the fragment's stale text dropped


def test_a_number_and_a_button_are_sent_as_the_browser_sends_them(server):
    async def actions(tab):
        await tab.open()
        await tab.set_number("count", 21)
        after_number = texts(tab)
        hidden = await tab.click("hide")
        after_click = texts(tab)
        await tab.set_number("count", 4)  # the button's trigger is not sent again
        return after_number, hidden, after_click, texts(tab)

    after_number, hidden, after_click, after_rerun = in_session(server, actions)
    assert "doubled 42" in after_number
    assert hidden.status == 0
    assert "shown unless hidden" in after_number and "shown unless hidden" not in after_click  # stale: dropped
    assert "doubled 8" in after_rerun and "shown unless hidden" in after_rerun


def test_auto_reruns_are_answered_until_the_page_is_left_and_the_query_goes_with_the_page(server):
    async def actions(tab):
        await tab.open()
        await asyncio.sleep(1.5)
        await tab.settled()  # between two ticks: the page whole
        ticking = texts(tab)
        other = await tab.open("other", "sentence=a+b")
        await asyncio.sleep(0.6)
        again = await tab.open("other", "sentence=a+b")
        return ticking, other, again

    ticking, other, again = in_session(server, actions)
    (tick,) = [t for t in ticking if t.startswith("tick ")]  # one tick shown: the last one, the others dropped
    ticks = int(tick.split()[1])
    assert ticks >= 4  # about one every 0.2 s, though the page was opened only once
    (first,) = other.texts("text")
    assert first.endswith("query {'sentence': 'a b'}") and again.texts("text") == [first]  # no tick since


def test_an_exception_box_and_a_page_not_found_are_problems(server):
    async def actions(tab):
        await tab.open()
        await tab.click("boom")
        await tab.open("nowhere")
        return list(tab.problems)

    problems = in_session(server, actions)
    assert problems[0].startswith("exception shown: ValueError") and "boom" in problems[0]
    assert problems[1] == "page not found: 'nowhere'"


def test_a_wait_ends_with_session_closed_when_the_server_goes(tmp_path):
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    doomed = Server(tmp_path / "model.pt", tmp_path / "runs", tmp_path / "streamlit.log", script=tmp_path / "app.py")

    async def actions(tab):
        await tab.open()
        doomed.stop()
        started = time.monotonic()
        with pytest.raises(SessionClosed):
            await tab.type("words", "too late")
        return time.monotonic() - started, list(tab.problems)

    try:
        took, problems = in_session(doomed, actions)
    finally:
        doomed.stop()
    assert took < 10 and problems == ["websocket closed by the server"]


def test_run_apart_runs_a_coroutine_where_an_event_loop_already_runs():
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    async def caller() -> int:
        return run_apart(answer())  # asyncio.run here would be refused

    assert asyncio.run(caller()) == 42
