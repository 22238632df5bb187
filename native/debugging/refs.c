/* Lab 05, part 4: reference leaks. `settings()` gives away a reference it never
 * took (lab 01's `return Py_None`, on a mortal object this time); `describe(obj)`
 * forgets to drop one. Neither crashes at once; sys.getrefcount, tracemalloc and a
 * debug interpreter's sys.gettotalrefcount show them. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* One dict made at import, shared by every call (a per-process singleton is fine
 * for a lab; a real module would keep it in its module state). */
static PyObject *shared_settings = NULL;

PyDoc_STRVAR(settings_doc, "settings() -> dict\n\nThe module's settings: the dict refs.DEFAULTS.");

static PyObject *
settings(PyObject *module, PyObject *unused)
{
    return shared_settings;
}

PyDoc_STRVAR(describe_doc, "describe(obj) -> str\n\n'<repr of obj>'.");

static PyObject *
describe(PyObject *module, PyObject *obj)
{
    PyObject *repr = PyObject_Repr(obj); /* a new reference: ours to drop */
    if (repr == NULL) {
        return NULL;
    }
    PyObject *result = PyUnicode_FromFormat("<%U>", repr);
    return result;
}

static PyMethodDef refs_methods[] = {
    {"settings", settings, METH_NOARGS, settings_doc},
    {"describe", describe, METH_O, describe_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef refs_module = {
    PyModuleDef_HEAD_INIT, "refs", "Lab 05: reference leaks to find.", 0, refs_methods,
};

PyMODINIT_FUNC
PyInit_refs(void)
{
    if (shared_settings == NULL) {
        shared_settings = Py_BuildValue("{s:i, s:s}", "retries", 3, "mode", "fast");
        if (shared_settings == NULL) {
            return NULL;
        }
    }
    PyObject *module = PyModule_Create(&refs_module);
    /* Also visible as refs.DEFAULTS: AddObjectRef takes a reference of its own. */
    if (module != NULL && PyModule_AddObjectRef(module, "DEFAULTS", shared_settings) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
