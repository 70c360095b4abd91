"""Refund requests, approval rules, platform write-back, the refund ledger and reports.

Registered now so the desk's shape is complete; its tables and pages come
with the refunds issue.
"""

from aftersales.core.i18n import N_
from aftersales.core.modules import Module

module = Module(name="refunds", label=N_("Refunds"))
