"""``svcflow demo``: a seeded week of multi-channel traffic through the shipped workflows."""

from svcflow.demo.run import DemoSummary, run_demo

__all__ = ["DemoSummary", "run_demo"]
