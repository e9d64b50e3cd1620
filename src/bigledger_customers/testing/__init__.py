"""Test kit for hosts: a movable clock, the adapter contract suite, strategies and a pytest plugin."""

from bigledger_customers.testing.clock import FrozenClock

__all__ = ["FrozenClock"]
