"""A small, faithful Bahdanau-attention seq2seq model that learns to reverse word order.

The package is plain PyTorch and never imports Streamlit: the app (``streamlit_app.py``, ``pages/``, ``ui/``) is
a thin layer over it, and ``python -m seq2seq`` runs every part headless.
"""

__version__ = "1.0.0"
