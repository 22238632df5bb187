/* glue.with_capi: the glue API written against CPython's C API by hand (stage 1's way).
 *
 * Every function converts its arguments, calls the plain C work in glue_work.c and
 * converts the result back. Written for the Limited API of CPython 3.10 (nothing here
 * needs more), so the same file also builds as one abi3 binary.
 *
 * Ownership rule, as in stage 1: a function returns a new reference or NULL with an
 * exception set; arguments are borrowed. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "glue_work.h"

/* --- argument conversion --------------------------------------------------------- */

/* An unsigned 64-bit integer the way CPython's own functions take one: anything with
 * __index__ (TypeError otherwise: "'str' object cannot be interpreted as an integer"),
 * OverflowError below 0 or above 2**64 - 1. Returns -1 with an exception set. */
static int
as_u64(PyObject *obj, uint64_t *out)
{
    PyObject *index = PyNumber_Index(obj); /* new reference */
    if (index == NULL) {
        return -1;
    }
    unsigned long long value = PyLong_AsUnsignedLongLong(index);
    Py_DECREF(index);
    if (value == (unsigned long long)-1 && PyErr_Occurred()) {
        return -1;
    }
    *out = (uint64_t)value;
    return 0;
}

/* The wording CPython uses when a positional-only function gets the wrong count. */
static int
check_nargs(const char *name, Py_ssize_t nargs, Py_ssize_t expected)
{
    if (nargs != expected) {
        PyErr_Format(PyExc_TypeError, "%s() takes exactly %zd arguments (%zd given)", name,
                     expected, nargs);
        return -1;
    }
    return 0;
}

/* --- the API ----------------------------------------------------------------------- */

PyDoc_STRVAR(noop_doc, "noop() -> None\n\nCall a C function that does nothing.");

static PyObject *
glue_capi_noop(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    glue_noop();
    Py_RETURN_NONE;
}

PyDoc_STRVAR(is_prime_doc, "is_prime(n, /) -> bool\n\nTrue if 0 <= n < 2**64 is prime.");

static PyObject *
glue_capi_is_prime(PyObject *module, PyObject *arg)
{
    uint64_t n;
    if (as_u64(arg, &n) < 0) {
        return NULL;
    }
    return PyBool_FromLong(glue_is_prime(n));
}

PyDoc_STRVAR(count_primes_doc, "count_primes(lo, hi, /) -> int\n\n"
                               "Count the primes in [lo, hi) with the GIL released.");

static PyObject *
glue_capi_count_primes(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    uint64_t lo, hi, count;
    if (check_nargs("count_primes", nargs, 2) < 0 || as_u64(args[0], &lo) < 0 ||
        as_u64(args[1], &hi) < 0) {
        return NULL;
    }
    /* No Python object is touched between these two lines, so other threads may run
     * Python meanwhile. */
    Py_BEGIN_ALLOW_THREADS;
    count = glue_count_primes(lo, hi);
    Py_END_ALLOW_THREADS;
    return PyLong_FromUnsignedLongLong(count);
}

PyDoc_STRVAR(reverse_doc,
             "reverse(data, /) -> bytes\n\nReturn the bytes of data in reverse order.");

static PyObject *
glue_capi_reverse(PyObject *module, PyObject *data)
{
    char *src;
    Py_ssize_t size;
    /* TypeError "expected bytes, str found" for anything but bytes. */
    if (PyBytes_AsStringAndSize(data, &src, &size) < 0) {
        return NULL;
    }
    /* A new bytes object of the right size, filled in place: no second copy. */
    PyObject *out = PyBytes_FromStringAndSize(NULL, size);
    if (out == NULL) {
        return NULL;
    }
    glue_reverse(src, (size_t)size, PyBytes_AsString(out));
    return out;
}

/* glue_call_back's callback: ctx is the Python callable (borrowed). A non-zero
 * return stops the C loop with the callable's exception still set. */
static int
call_python(void *ctx)
{
    PyObject *result = PyObject_CallNoArgs((PyObject *)ctx);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

PyDoc_STRVAR(call_back_doc, "call_back(func, n, /) -> None\n\n"
                            "Call func() n times from C; its first exception stops the loop.");

static PyObject *
glue_capi_call_back(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    uint64_t n;
    if (check_nargs("call_back", nargs, 2) < 0 || as_u64(args[1], &n) < 0) {
        return NULL;
    }
    if (glue_call_back(call_python, args[0], n) != 0) {
        return NULL; /* call_python left the exception set */
    }
    Py_RETURN_NONE;
}

/* --- module definition ----------------------------------------------------------- */

static PyMethodDef glue_capi_methods[] = {
    {"noop", glue_capi_noop, METH_NOARGS, noop_doc},
    {"is_prime", glue_capi_is_prime, METH_O, is_prime_doc},
    /* Fastcall functions have another C signature: the flag tells CPython. */
    {"count_primes", (PyCFunction)(void (*)(void))glue_capi_count_primes, METH_FASTCALL,
     count_primes_doc},
    {"reverse", glue_capi_reverse, METH_O, reverse_doc},
    {"call_back", (PyCFunction)(void (*)(void))glue_capi_call_back, METH_FASTCALL, call_back_doc},
    {NULL, NULL, 0, NULL} /* sentinel */
};

static PyModuleDef_Slot glue_capi_slots[] = {
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#ifdef Py_mod_gil
    /* No state and no cached Python object: safe on the free-threaded build. */
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL}};

static struct PyModuleDef glue_capi_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "glue.with_capi",
    .m_doc = "The glue API through CPython's C API, written by hand.",
    .m_size = 0,
    .m_methods = glue_capi_methods,
    .m_slots = glue_capi_slots,
};

PyMODINIT_FUNC
PyInit_with_capi(void)
{
    return PyModuleDef_Init(&glue_capi_module);
}
