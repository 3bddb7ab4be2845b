"""The app's Streamlit glue, by job: ``session`` (this browser session's active model and the sidebar), ``links``
(deep links into a page), ``widgets`` (what several pages draw alike), ``training`` (the server's trainer and its
live view) and ``warm_up`` (what the server makes before it answers anyone).

The frame (``streamlit_app.py``) and the pages (``pages/``) are layout over this package; every computation lives in
``seq2seq/``, whose app helpers (``seq2seq.app``) never import Streamlit.
"""
