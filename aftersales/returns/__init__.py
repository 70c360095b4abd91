"""Return and exchange cases (RMA): policy windows, return shipping, inspection.

Registered now; its tables and pages come with the returns issue.
"""

from aftersales.core.i18n import N_
from aftersales.core.modules import Module

module = Module(name="returns", label=N_("Returns"))
