"""Helpers shared by tests that need more than the library: a real browser, a throwaway
PostgreSQL server, installing the Debian packages they come from, PNG decoding."""
