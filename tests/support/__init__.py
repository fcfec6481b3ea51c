"""Helpers the tests import (``conftest.py`` keeps only fixtures): shared workflow texts and
paths, a real browser, a throwaway PostgreSQL server, installing the Debian packages they come
from, PNG decoding, the report scenario."""
