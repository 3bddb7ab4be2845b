"""Fixtures of the browser tier: ``streamlit run`` on 127.0.0.1 with the tiny model, and Debian's Chromium."""

from collections.abc import Iterator

import pytest

from harness.browser import Server, open_browser


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_checkpoint) -> Iterator[Server]:
    """``streamlit run`` on 127.0.0.1 with the tiny model as the default, for one test module. It must exit cleanly
    (never 134, an abort at exit) and log no traceback."""
    folder = tmp_path_factory.mktemp("server")
    running = Server(tiny_checkpoint, folder / "runs", folder / "streamlit.log")
    yield running
    code = running.stop()
    assert code in (0, -15), f"streamlit exited with {code}:\n{running.log()}"
    assert "Traceback" not in running.log(last=10**7), running.log()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Debian's Chromium driven by Playwright, for one test module (which skips where there is none)."""
    with open_browser() as chromium:
        yield chromium
