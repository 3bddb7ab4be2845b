"""What a page draws before the heavy work: its config and nothing that needs torch, pandas or a model.

Imported first by ``streamlit_app.py`` so that a cold server paints Try it's heading and text box before torch is
imported (most of the first page view's time, see the README's Speed section). ``app_ui`` holds the rest.
"""

import streamlit as st

PAGE_ICON = "🔁"  # an emoji is drawn by the browser; a ":material/...:" one would be fetched from fonts.gstatic.com


def page_config(title: str) -> None:
    st.set_page_config(page_title=f"{title} · Seq2Seq reverser", page_icon=PAGE_ICON, layout="wide")
