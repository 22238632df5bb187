/* hello: stage 1 of the workshop, a hand-written C extension module.
 *
 * It shows, in one file, everything a C extension needs: Python.h first, functions
 * with the signatures CPython expects, a method table (PyMethodDef), a module
 * definition (PyModuleDef) and an init function. It is built for the Limited API
 * (Py_LIMITED_API, defined by meson.build), so one abi3 binary serves CPython
 * 3.10 and every later version.
 *
 * Reference ownership rule used throughout: every function returns a *new*
 * reference (the caller owns it) or NULL with an exception set; arguments are
 * *borrowed* (we never decref them).
 */

#define PY_SSIZE_T_CLEAN /* '#' formats take Py_ssize_t lengths, not int */
#include <Python.h>

/* --- hello_world ------------------------------------------------------------- */

/* A docstring that starts with "name(parameters)\n--\n\n" gives the function a
 * signature: CPython cuts that line off into __text_signature__, so help(),
 * inspect.signature() and the stub checker (mypy's stubtest) see the parameters
 * ($module stands for the module argument, which Python callers never pass). */
PyDoc_STRVAR(hello_world_doc, "hello_world($module, /)\n--\n\n"
                              "Print 'Hello World' to sys.stdout and return None.");

static PyObject *
hello_hello_world(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    /* PySys_WriteStdout writes to sys.stdout, so the text follows Python's
     * buffering and redirections (Jupyter, pytest's capsys); printf() would write
     * to file descriptor 1 behind Python's back, in a different order. */
    PySys_WriteStdout("Hello World\n");
    /* Returning None hands the caller a reference it will later drop, so we must
     * create one: Py_RETURN_NONE is Py_INCREF(Py_None); return Py_None. */
    Py_RETURN_NONE;
}

/* --- greet ------------------------------------------------------------------- */

PyDoc_STRVAR(greet_doc, "greet($module, name, /)\n--\n\n"
                        "Return 'Hello, <name>!'. Raise TypeError if name is not a str.");

/* Set "<func>() argument must be str, not <type>" like CPython's own functions.
 * tp_name is hidden by the Limited API (PyType_GetName arrives only in 3.11's
 * stable ABI), so the name is read as the type's __name__ attribute. */
static PyObject *
hello_type_error(const char *func, const char *expected, PyObject *got)
{
    PyObject *name = PyObject_GetAttrString((PyObject *)Py_TYPE(got), "__name__");
    if (name == NULL) {
        return NULL;
    }
    PyErr_Format(PyExc_TypeError, "%s() argument must be %s, not %U", func, expected, name);
    Py_DECREF(name);
    return NULL;
}

static PyObject *
hello_greet(PyObject *module, PyObject *name)
{
    if (!PyUnicode_Check(name)) {
        return hello_type_error("greet", "str", name);
    }
    return PyUnicode_FromFormat("Hello, %U!", name);
}

/* --- the four calling conventions ---------------------------------------------
 * Each function does the same trivial work (return None) so that a benchmark of
 * them measures only how CPython passes arguments:
 *   METH_NOARGS   no arguments at all;
 *   METH_O        exactly one argument, passed directly;
 *   METH_VARARGS  a tuple of arguments, unpacked with PyArg_ParseTuple;
 *   METH_FASTCALL a C array of arguments and its length, no tuple built.
 */

PyDoc_STRVAR(call_noargs_doc, "call_noargs($module, /)\n--\n\n"
                              "METH_NOARGS: take nothing, return None.");

static PyObject *
hello_call_noargs(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    Py_RETURN_NONE;
}

PyDoc_STRVAR(call_o_doc, "call_o($module, obj, /)\n--\n\nMETH_O: take one object, return None.");

static PyObject *
hello_call_o(PyObject *module, PyObject *obj)
{
    Py_RETURN_NONE;
}

PyDoc_STRVAR(call_varargs_doc,
             "call_varargs($module, obj, /)\n--\n\n"
             "METH_VARARGS: unpack one object from the argument tuple, return None.");

static PyObject *
hello_call_varargs(PyObject *module, PyObject *args)
{
    PyObject *obj; /* borrowed from the tuple: no decref */
    if (!PyArg_ParseTuple(args, "O:call_varargs", &obj)) {
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(call_fastcall_doc, "call_fastcall($module, obj, /)\n--\n\n"
                                "METH_FASTCALL: take one object from a C array, return None.");

static PyObject *
hello_call_fastcall(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 1) {
        /* The same wording CPython uses for METH_O functions. */
        PyErr_Format(PyExc_TypeError, "call_fastcall() takes exactly one argument (%zd given)",
                     nargs);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* --- module definition ------------------------------------------------------- */

static PyMethodDef hello_methods[] = {
    {"hello_world", hello_hello_world, METH_NOARGS, hello_world_doc},
    {"greet", hello_greet, METH_O, greet_doc},
    {"call_noargs", hello_call_noargs, METH_NOARGS, call_noargs_doc},
    {"call_o", hello_call_o, METH_O, call_o_doc},
    {"call_varargs", hello_call_varargs, METH_VARARGS, call_varargs_doc},
    /* A fastcall function has another C signature: the cast through void(*)(void)
     * tells the compiler the mismatch is deliberate; the flag tells CPython. */
    {"call_fastcall", (PyCFunction)(void (*)(void))hello_call_fastcall, METH_FASTCALL,
     call_fastcall_doc},
    {NULL, NULL, 0, NULL} /* sentinel */
};

PyDoc_STRVAR(module_doc, "Stage 1 of the workshop: a hand-written C extension module.");

/* Multi-phase initialisation (PEP 489): PyInit_hello only returns the definition
 * and CPython creates the module, once per interpreter, so each sub-interpreter
 * gets a module of its own. The module keeps no state (m_size 0), which makes that
 * safe.
 *
 * No slots, on purpose. The two that would describe this module are not in the
 * 3.10 Limited API this binary is built for, so the headers hide them:
 *   - Py_mod_multiple_interpreters (stable ABI since 3.12) would declare support for
 *     a per-interpreter GIL. Without it CPython 3.12+ assumes "several interpreters,
 *     one shared GIL": hello imports into sub-interpreters that share the main
 *     GIL, and an isolated one (its own GIL) refuses it with ImportError.
 *   - Py_mod_gil (3.13) would declare the module safe without the GIL, but a
 *     free-threaded CPython (3.13t, 3.14t) does not load abi3 modules at all, so
 *     no interpreter would ever read it from this binary.
 * Targeting the 3.12 Limited API for the first would drop CPython 3.10 and 3.11,
 * which the workshop supports; one binary for all of them is stage 1's point.
 * tests/test_hello_subinterpreters.py checks both halves of that trade. */
static struct PyModuleDef hello_module = {
    PyModuleDef_HEAD_INIT, .m_name = "hello",          .m_doc = module_doc,
    .m_size = 0,           .m_methods = hello_methods,
};

PyMODINIT_FUNC
PyInit_hello(void)
{
    return PyModuleDef_Init(&hello_module);
}
