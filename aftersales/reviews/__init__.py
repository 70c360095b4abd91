"""Buyer reviews, negative-review follow-up cases and rating reports.

Registered now; its tables and pages come with the reviews issue.
"""

from aftersales.core.i18n import N_
from aftersales.core.modules import Module

module = Module(name="reviews", label=N_("Reviews"))
