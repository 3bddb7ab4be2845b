"""The app's frame and entry point: ``streamlit run streamlit_app.py``.

One file, two roles, told apart by ``__name__``:

- imported as ``streamlit_app`` (``streamlit run`` finds the ``st.App`` below by reading this file, then has its
  server import ``streamlit_app:app``), it is the server. Before the server answers anyone it warms itself: torch
  and the app's modules imported, the default model loaded, its example sentences reversed, the default corpus
  generated (``ui.warm_up``), and it prints what that took; a person who opens the app then pays only for the page
  itself (docs/speed.md has the times). Its listening socket is set to send small messages at once
  (``seq2seq.app.server_sockets``). When the server shuts down (Ctrl+C, SIGTERM), a training run still going on
  is stopped and joined first, so that it saves its best model and its status.
- run as ``__main__`` (the ``st.App``'s script, on every rerun of every session), it is the frame: the page menu
  (``PAGES``: each page's file, title, address and icon, in menu order, defined here only), the page's browser tab
  title, the sidebar with the session's active model, then the page itself, from ``pages/``.
"""

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st

PAGE_ICON = "🔁"  # an emoji is drawn by the browser; a ":material/...:" one would be fetched from fonts.gstatic.com
# file, title, address, icon (an emoji: a page's icon is also its browser tab's, and a ":material/...:" one would be
# fetched from fonts.gstatic.com), and the link parameters the page reads besides ``model`` (which every page's sidebar
# reads); the first is the home page (/). An address never equals its file's name: Streamlit's pages-folder mode (a
# process's first run, and every AppTest run) would run a page file alone, without this frame, for a page id or
# address made from that name. The home page's address only makes its id differ.
PAGES = [
    ("pages/try_it.py", "Try it", "Try_it", "🔤", ("sentence",)),
    ("pages/learn.py", "Learn", "Learn", "🎓", ("lesson", "step", "class")),
    ("pages/class_view.py", "Class", "Class", "🏫", ("class", "key")),
    ("pages/train.py", "Train", "Train", "🏋️", ("run", "step")),
    ("pages/runs.py", "Runs", "Runs", "📁", ()),
    ("pages/examples.py", "Examples", "Examples", "📋", ()),
    ("pages/attention.py", "Attention", "Attention", "🔥", ()),
    ("pages/analysis.py", "Analysis", "Analysis", "📊", ()),
    ("pages/compare.py", "Compare", "Compare", "⚖️", ("sentence",)),
    ("pages/decoder.py", "Decoder", "Decoder", "🔍", ("sentence", "step")),
]


APP_DIR = Path(__file__).resolve().parent  # the pages' files are found from here, whichever script calls the frame


def frame(home: Callable[[], None] | None = None) -> None:
    """The page the address asks for, in the frame every page shares. The sidebar is drawn before the page, which may
    stop anywhere (``st.stop``: nothing after it is drawn); on a warmed server what it needs is loaded already.

    ``home``, when given, is drawn in place of Try it, under its title and address: the benchmark's framed floors
    (``benchmarks/app_latency.py``), pages that only echo or only show the model's reversal, in this same frame."""
    page = st.navigation(
        [
            st.Page(
                home if home and index == 0 else APP_DIR / path,
                title=title,
                url_path=address,
                icon=icon,
                default=index == 0,
            )
            for index, (path, title, address, icon, _) in enumerate(PAGES)
        ]
    )
    st.set_page_config(page_title=f"{page.title} · Seq2Seq reverser", page_icon=PAGE_ICON, layout="wide")
    import ui.links
    import ui.session  # a lookup: the server imported it when it warmed up

    reads = next(reads for _, title, _, _, reads in PAGES if title == page.title)
    ui.links.read_link(page.title, reads)  # a link's model first: the sidebar shows it
    ui.session.sidebar()
    page.run()


@asynccontextmanager
async def lifespan(_app: st.App) -> AsyncIterator[None]:
    # What the frame's st.navigation does on every run, done once before any session: otherwise a process's first run
    # treats pages/ as Streamlit's pages folder, where no page has a menu address, and a first visitor's /Train would
    # read "Page not found" before the frame draws it.
    from streamlit.runtime.pages_manager import PagesManager

    from seq2seq.app.server_sockets import turn_off_nagle

    PagesManager.uses_pages_directory = False
    # Streamlit's listening socket leaves Nagle's algorithm on, which held answers back about 40 ms (the module says
    # why); its connections take the setting from it, so it is set before the first visitor.
    if not turn_off_nagle():
        print("  Nagle's algorithm left on: no listening socket found; an answer may arrive 40 ms late.", flush=True)
    started = time.perf_counter()
    import ui.warm_up
    from seq2seq.app.worker import shutdown_all

    took = {"imports (torch, pandas, Plotly, the app)": time.perf_counter() - started, **ui.warm_up.warm_up()}
    print(warmed_up_line(took), flush=True)
    yield
    shutdown_all()


def warmed_up_line(took: dict[str, float]) -> str:
    steps = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in took.items())
    return f"  Warmed up in {sum(took.values()):.2f} s: {steps}."


if __name__ == "__main__":
    frame()
else:
    app = st.App(__file__, lifespan=lifespan)
