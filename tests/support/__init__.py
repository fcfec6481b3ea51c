"""Helpers the tests import (``conftest.py`` keeps only fixtures): shared workflow texts and
paths, a real browser, PNG decoding, the report scenario."""
