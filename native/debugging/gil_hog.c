/* Lab 05, part 5: a stuck program. `wait_for_device(seconds)` stands for a
 * blocking native call (a read from a device, a lock, a network round trip). A
 * planted bug makes every other Python thread stop while it waits: find out from
 * gdb which thread holds the GIL, then fix it. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <time.h>

PyDoc_STRVAR(wait_doc, "wait_for_device(seconds)\n\nBlock this thread for `seconds`.");

/* The blocking part: plain C, touches no Python object. */
static void
device_wait(double seconds)
{
    struct timespec rest = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    while (nanosleep(&rest, &rest) == -1) {
        /* interrupted by a signal: sleep the rest */
    }
}

static PyObject *
wait_for_device(PyObject *module, PyObject *arg)
{
    double seconds = PyFloat_AsDouble(arg);
    if (seconds == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    if (seconds < 0) {
        return PyErr_Format(PyExc_ValueError, "seconds must be >= 0, not %R", arg);
    }
    device_wait(seconds);
    Py_RETURN_NONE;
}

static PyMethodDef gil_hog_methods[] = {
    {"wait_for_device", wait_for_device, METH_O, wait_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef gil_hog_module = {
    PyModuleDef_HEAD_INIT, "gil_hog", "Lab 05: a GIL held while blocking.", 0, gil_hog_methods,
};

PyMODINIT_FUNC
PyInit_gil_hog(void)
{
    return PyModule_Create(&gil_hog_module);
}
