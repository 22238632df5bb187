"""cq._aio: the asyncio layer's native poller thread, by its historic name.

The Poller is compiled into cq._cq, the one extension module, so that it and
the binding share one copy of the core (see _cq.pyx); this module only names it.
"""

from ._cq import Poller

__all__ = ["Poller"]
