"""Helpers shared by tests that need more than the library: a real browser, PNG decoding."""
