"""The app's entry point: ``streamlit run streamlit_app.py`` serves Try it (``try_it.py``) and ``pages/``.

Before the server answers anyone it warms itself: torch and the app's modules imported, the default model loaded, its
example sentences reversed, the default corpus generated (``app_ui.warm_up``), and it prints what that took. A person
who opens the app then pays only for the page itself; the README's Speed section has the times. When the server shuts
down (Ctrl+C, SIGTERM), a training run still going on is stopped and joined first, so that it saves its best model
and its status.
"""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st


@asynccontextmanager
async def lifespan(_app: st.App) -> AsyncIterator[None]:
    started = time.perf_counter()
    import app_ui
    from seq2seq.app.worker import shutdown_all

    took = {"imports (torch, pandas, Plotly, the app)": time.perf_counter() - started, **app_ui.warm_up()}
    print(warmed_up_line(took), flush=True)
    yield
    shutdown_all()


def warmed_up_line(took: dict[str, float]) -> str:
    steps = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in took.items())
    return f"  Warmed up in {sum(took.values()):.2f} s: {steps}."


app = st.App("try_it.py", lifespan=lifespan)
