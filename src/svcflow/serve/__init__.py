"""``svcflow serve``: svcflow over HTTP (the web console lives in :mod:`svcflow.serve.console`)."""
