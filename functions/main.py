"""Every deployed function, re-exported: deploy and the local server discover them here.

One module per trigger family: `callables` (Firebase callable protocol for the apps).
"""

from functions.callables import bootstrapAccount

__all__ = ["bootstrapAccount"]
