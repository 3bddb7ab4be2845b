"""The app's entry point: ``streamlit run streamlit_app.py`` serves Try it (``try_it.py``) and ``pages/``.

Before the server answers anyone it warms itself (``app_ui.warm_up``: torch and the app's modules imported, the
default model loaded, its example sentences reversed, the default corpus generated), so that a person who opens the
app pays only for the page itself; the README's Speed section has the times. When the server shuts down (Ctrl+C,
SIGTERM), a training run still going on is stopped and joined first, so that it saves its best model and its status.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st


@asynccontextmanager
async def lifespan(_app: st.App) -> AsyncIterator[None]:
    import app_ui
    from seq2seq.app.worker import shutdown_all

    app_ui.warm_up()
    yield
    shutdown_all()


app = st.App("try_it.py", lifespan=lifespan)
