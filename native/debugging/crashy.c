/* Lab 05, part 2: a crash. `header_value("Host: example.org")` returns
 * "example.org"; a line without ':' should raise ValueError. A planted bug makes
 * it crash the interpreter instead: find it with faulthandler and gdb. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

PyDoc_STRVAR(header_value_doc, "header_value(line) -> str\n\n"
                               "The value of an HTTP-style header line: 'Key: value' -> 'value'.");

static PyObject *
header_value(PyObject *module, PyObject *line)
{
    const char *text = PyUnicode_AsUTF8(line); /* borrowed from `line` */
    if (text == NULL) {
        return NULL; /* TypeError: not a str */
    }
    const char *colon = strchr(text, ':');
    const char *value = colon + 1;
    while (*value == ' ') {
        value++;
    }
    return PyUnicode_FromString(value);
}

static PyMethodDef crashy_methods[] = {
    {"header_value", header_value, METH_O, header_value_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef crashy_module = {
    PyModuleDef_HEAD_INIT, "crashy", "Lab 05: a crash to find.", 0, crashy_methods,
};

PyMODINIT_FUNC
PyInit_crashy(void)
{
    return PyModule_Create(&crashy_module);
}
