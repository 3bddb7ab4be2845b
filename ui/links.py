"""What a page draws before the heavy work: its config and nothing that needs torch, pandas or a model.

Imported first by ``try_it.py`` so that Try it paints its heading and text box before torch is imported, where the
server was not warmed by ``streamlit_app.py`` first (there, those imports are most of the first page view's time, see
the README's Speed section). ``app_ui`` holds the rest.
"""

import streamlit as st

PAGE_ICON = "🔁"  # an emoji is drawn by the browser; a ":material/...:" one would be fetched from fonts.gstatic.com


def page_config(title: str) -> None:
    st.set_page_config(page_title=f"{title} · Seq2Seq reverser", page_icon=PAGE_ICON, layout="wide")


def link_to_open(page: str) -> bool:
    """True once per session and page: on its first view, when the URL carries parameters. Read on the first view
    only, so that the parameters a page later writes into the URL (to be copied) never override what is typed."""
    flag = f"link_read_{page}"
    first_view = flag not in st.session_state
    st.session_state[flag] = True
    return first_view and bool(st.query_params)
