/* Lab 05, part 3: memory errors. Two functions, each with a planted bug that
 * corrupts memory silently: the results look right, the tests pass, and one day
 * the heap falls over somewhere else. AddressSanitizer and valgrind point at the
 * guilty line. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

PyDoc_STRVAR(shout_doc, "shout(text) -> str\n\nASCII text upper-cased, with '!' appended.");

static PyObject *
shout(PyObject *module, PyObject *arg)
{
    Py_ssize_t len;
    const char *text = PyUnicode_AsUTF8AndSize(arg, &len);
    if (text == NULL) {
        return NULL;
    }
    /* Room for the text and the '!'. */
    char *buf = malloc(len + 1);
    if (buf == NULL) {
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        buf[i] = (char)toupper((unsigned char)text[i]);
    }
    buf[len] = '!';
    buf[len + 1] = '\0';
    PyObject *result = PyUnicode_FromString(buf);
    free(buf);
    return result;
}

PyDoc_STRVAR(last_word_doc, "last_word(text) -> str\n\nThe text after its last space.");

static PyObject *
last_word(PyObject *module, PyObject *arg)
{
    const char *text = PyUnicode_AsUTF8(arg);
    if (text == NULL) {
        return NULL;
    }
    char *copy = strdup(text); /* strrchr wants a string we own */
    if (copy == NULL) {
        return PyErr_NoMemory();
    }
    char *space = strrchr(copy, ' ');
    const char *word = space ? space + 1 : copy;
    free(copy);
    return PyUnicode_FromString(word);
}

static PyMethodDef textbuf_methods[] = {
    {"shout", shout, METH_O, shout_doc},
    {"last_word", last_word, METH_O, last_word_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef textbuf_module = {
    PyModuleDef_HEAD_INIT, "textbuf", "Lab 05: memory errors to find.", 0, textbuf_methods,
};

PyMODINIT_FUNC
PyInit_textbuf(void)
{
    return PyModule_Create(&textbuf_module);
}
