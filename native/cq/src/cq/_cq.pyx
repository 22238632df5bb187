# cython: language_level=3
"""The Cython binding of the completion-queue core (src/core/cq.h).

Ownership of tags: starting an operation takes a reference to its tag
(Py_INCREF) and hands the core a plain pointer; the reference is given back
when the event is delivered by next()/pluck(), or when the queue is destroyed
with the event undelivered. The core never touches a Python object, so every
call into it runs with the GIL released.
"""

import os
import socket
import sys
import threading
import warnings

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.exc cimport PyErr_CheckSignals
from cpython.number cimport PyNumber_Index
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF
from libc.math cimport isnan
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

# Event types (CompletionQueue.next() results).
OP = CQ_EVENT_OP
TIMEOUT = CQ_EVENT_TIMEOUT
SHUTDOWN = CQ_EVENT_SHUTDOWN

# Operation kinds (Event.op).
ALARM = CQ_OP_ALARM
CONNECT = CQ_OP_CONNECT
CALL = CQ_OP_CALL
REQUEST = CQ_OP_REQUEST

# Core status codes (Event.error when it is negative; positive ones are errno).
E_SHUTDOWN = CQ_E_SHUTDOWN
E_CANCELLED = CQ_E_CANCELLED
E_PROTOCOL = CQ_E_PROTOCOL
E_TOO_LARGE = CQ_E_TOO_LARGE
E_CLOSED = CQ_E_CLOSED
E_INVALID = CQ_E_INVALID
E_RESOLVE = CQ_E_RESOLVE
E_NOMEM = CQ_E_NOMEM

# One extension module, assembled from includes as grpc's cygrpc.pyx is: the
# core is linked once, so the poller thread and the binding share one copy of
# its functions and state (two modules would each carry their own).
include "_binding/errors.pyx.pxi"
include "_binding/values.pyx.pxi"
include "_binding/handle.pyx.pxi"
include "_binding/spinner.pyx.pxi"
include "_binding/queue.pyx.pxi"
include "_binding/handles.pyx.pxi"
include "_binding/poller.pyx.pxi"
