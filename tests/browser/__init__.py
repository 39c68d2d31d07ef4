"""Browser tests: the pages in headless Chromium (see conftest.py)."""
