"""The entry point: ``streamlit run streamlit_app.py`` serves the app as an ``st.App`` whose lifespan warms the server
before it answers and joins a training run when it shuts down."""

import asyncio
from pathlib import Path

from streamlit.web.server.app_discovery import discover_asgi_app

import app_ui
import streamlit_app
from seq2seq.app import worker

ENTRY = Path(streamlit_app.__file__)


def test_streamlit_run_finds_the_app_and_its_pages():
    found = discover_asgi_app(ENTRY)  # what `streamlit run` asks before it chooses how to serve a script
    assert found.is_asgi_app and found.import_string == "streamlit_app:app"
    assert streamlit_app.app.script_path.name == "try_it.py"
    assert (ENTRY.parent / "try_it.py").is_file() and (ENTRY.parent / "pages").is_dir()


def test_the_server_warms_before_it_serves_and_joins_training_when_it_stops(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(app_ui, "warm_up", lambda: calls.append("warm up") or {"default model": 0.25})
    monkeypatch.setattr(worker, "shutdown_all", lambda: calls.append("join training"))

    async def serve() -> None:
        async with streamlit_app.lifespan(streamlit_app.app):
            calls.append("serving")

    asyncio.run(serve())
    assert calls == ["warm up", "serving", "join training"]
    said = capsys.readouterr().out
    assert said.strip().startswith("Warmed up in") and "default model 0.25 s" in said
