"""Test kit for hosts: a movable clock, factories, hypothesis strategies, a pytest plugin and the
adapter contract suite (docs/testing.md).

- :class:`FrozenClock` (here) and the fixtures of :mod:`bigledger_customers.testing.plugin`;
- :mod:`bigledger_customers.testing.factories`: customers, funded accounts, grants, invoices;
- :mod:`bigledger_customers.testing.strategies`: hypothesis strategies (``st.from_type(Customer)``);
- :mod:`bigledger_customers.testing.contract`: the adapter contract suite;
- :mod:`bigledger_customers.testing.fakes`: fakes of the host-provider ports.
"""

from bigledger_customers.testing.clock import FrozenClock

__all__ = ["FrozenClock"]
