"""Shifts and shift-end handover lists gathered from every module's ``handover_items``.

Registered now; its tables and pages come with the handover issue.
"""

from aftersales.core.i18n import N_
from aftersales.core.modules import Module

module = Module(name="handover", label=N_("Handover"))
