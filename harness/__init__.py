"""Drives the app in a real browser: a ``streamlit run`` server on 127.0.0.1 and Debian's Chromium through Playwright.

Shared by the browser tests (``tests/browser``) and the benchmarks that time or soak the app (``benchmarks/``), so
that neither imports the other.
"""
