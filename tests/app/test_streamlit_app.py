"""The entry point: ``streamlit run streamlit_app.py`` serves the app as an ``st.App`` whose lifespan warms the server
before it answers and joins a training run when it shuts down."""

import asyncio
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.web.server.app_discovery import discover_asgi_app

import streamlit_app
import ui.warm_up
from seq2seq.app import server_sockets, worker

ENTRY = Path(streamlit_app.__file__)


def test_streamlit_run_finds_the_app_and_its_pages():
    found = discover_asgi_app(ENTRY)  # what `streamlit run` asks before it chooses how to serve a script
    assert found.is_asgi_app and found.import_string == "streamlit_app:app"
    assert streamlit_app.app.script_path == ENTRY  # the same file is the frame, run on every rerun
    for path, *_ in streamlit_app.PAGES:
        assert (ENTRY.parent / path).is_file(), path
    assert {path for path, *_ in streamlit_app.PAGES} == {
        f"pages/{p.name}" for p in (ENTRY.parent / "pages").glob("*.py")
    }


def test_the_server_turns_nagle_off_warms_before_it_serves_and_joins_training_when_it_stops(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(server_sockets, "turn_off_nagle", lambda: calls.append("nagle off") or 1)
    monkeypatch.setattr(ui.warm_up, "warm_up", lambda: calls.append("warm up") or {"default model": 0.25})
    monkeypatch.setattr(worker, "shutdown_all", lambda: calls.append("join training"))

    async def serve() -> None:
        async with streamlit_app.lifespan(streamlit_app.app):
            calls.append("serving")

    asyncio.run(serve())
    assert calls == ["nagle off", "warm up", "serving", "join training"]
    said = capsys.readouterr().out
    assert said.strip().startswith("Warmed up in") and "default model 0.25 s" in said
    assert "Nagle" not in said


def test_a_server_whose_listening_socket_is_not_found_says_its_answers_may_be_late(monkeypatch, capsys):
    monkeypatch.setattr(server_sockets, "turn_off_nagle", lambda: 0)
    monkeypatch.setattr(ui.warm_up, "warm_up", lambda: {})
    monkeypatch.setattr(worker, "shutdown_all", lambda: None)

    async def serve() -> None:
        async with streamlit_app.lifespan(streamlit_app.app):
            pass

    asyncio.run(serve())
    assert "Nagle's algorithm left on" in capsys.readouterr().out


def test_the_pages_keep_their_addresses_and_none_is_its_file_name():
    """The URLs people have (``/``, ``/Train``, ..., ``/Runs``) still open their pages; and no address equals its file's
    name, which would let Streamlit's pages-folder mode run that file alone, without the frame and its sidebar."""
    addresses = {title: address for _path, title, address, _icon, _reads in streamlit_app.PAGES}
    assert streamlit_app.PAGES[0][1] == "Try it"  # the home page, /
    pages = ["Train", "Examples", "Attention", "Analysis", "Compare", "Decoder", "Runs"]
    assert {title: addresses[title] for title in pages} == {title: title for title in pages}
    for path, _title, address, _icon, _reads in streamlit_app.PAGES:
        assert address != Path(path).stem, path


def test_the_server_switches_threads_often_so_that_a_reversal_does_not_wait_behind_busy_sessions():
    import ui.session

    assert ui.session.SWITCH_INTERVAL_S < 0.005  # Python's default
    assert sys.getswitchinterval() == pytest.approx(ui.session.SWITCH_INTERVAL_S)


def test_the_frame_draws_a_home_page_given_in_place_of_try_it_with_its_menu_and_sidebar(runs):
    """The benchmark's framed floors: a script elsewhere (AppTest writes this one to a temporary folder) hands the
    frame its own home page, and gets the app's menu, with every page file found, and the sidebar around it."""
    script = f"""
import sys

sys.path.insert(0, {str(ENTRY.parent)!r})
import streamlit as st

import streamlit_app


def echo():
    sentence = st.text_input("Sentence", key="sentence")
    st.text("echo: " + " ".join(reversed(sentence.split())))


streamlit_app.frame(home=echo)
"""
    at = AppTest.from_string(script, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert "**Active model**" in [markdown.value for markdown in at.sidebar.markdown]
    at.text_input(key="sentence").input("the cat sat").run()
    assert "echo: sat cat the" in [text.value for text in at.text]
    at.switch_page(str(ENTRY.parent / "pages/runs.py")).run()
    assert not at.exception, at.exception
    assert "echo: sat cat the" not in [text.value for text in at.text]
