/*
 * kvsws_core.i - the SWIG layer under the kvsws Python package (kvsws._core). Thin on purpose.
 *
 * It wraps the C ABI in a few functions and adds exactly three things:
 *  - the GIL is released around everything that can block (creating a client reads files and may
 *    run credential_process; a call talks to AWS), so threads make calls in parallel;
 *  - a failed call raises _core.CoreError whose args are the fields of that call's own
 *    kvsws_error (never thread-local state); kvsws.exceptions maps them to Python exceptions by
 *    the stable status number and the AWS error code;
 *  - the core's log lines reach one Python callable, on the calling thread, with the GIL taken
 *    back for the duration of the line.
 * No protocol logic lives here or in the Python package: the core validates the input, builds
 * the request, signs it, retries, and parses AWS errors.
 */
%module(package="kvsws") core

%{
#include <string.h>

#include <kvsws.h>

static PyObject *kvsws_py_core_error = NULL;  /* _core.CoreError */
static PyObject *kvsws_py_log_handler = NULL; /* set_log_handler(); kept for the process */

static int kvsws_py_finalizing(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsFinalizing();
#else
    return _Py_IsFinalizing();
#endif
}

/* C strings from the core are UTF-8; a stray byte from a server never makes decoding fail. */
static PyObject *kvsws_py_str(const char *s)
{
    if (!s)
        s = "";
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
}

/* Raises CoreError(status, status_name, code, message, operation, request_id, http_status,
 * retryable, attempts, describe) from a failed call's error. Always returns NULL. */
static PyObject *kvsws_py_raise(kvsws_status st, const kvsws_error *err)
{
    if (!err)
        return PyErr_NoMemory();
    if (!kvsws_py_core_error) {
        PyErr_SetString(PyExc_RuntimeError, "kvsws._core was not initialised");
        return NULL;
    }
    PyObject *args = PyTuple_New(10);
    if (!args)
        return NULL;
    PyObject *items[10] = {
        PyLong_FromLong((long)st),
        kvsws_py_str(kvsws_status_name(st)),
        kvsws_py_str(kvsws_error_code(err)),
        kvsws_py_str(kvsws_error_message(err)),
        kvsws_py_str(kvsws_error_operation(err)),
        kvsws_py_str(kvsws_error_request_id(err)),
        PyLong_FromLong((long)kvsws_error_http_status(err)),
        PyBool_FromLong((long)kvsws_error_retryable(err)),
        PyLong_FromLong((long)kvsws_error_attempts(err)),
        kvsws_py_str(kvsws_error_describe(err)),
    };
    for (Py_ssize_t i = 0; i < 10; i++) {
        if (!items[i]) {
            for (Py_ssize_t j = i + 1; j < 10; j++)
                Py_XDECREF(items[j]);
            Py_DECREF(args);
            return NULL;
        }
        PyTuple_SET_ITEM(args, i, items[i]);
    }
    PyErr_SetObject(kvsws_py_core_error, args);
    Py_DECREF(args);
    return NULL;
}

/* The core's log function: runs on the thread making the call, which has released the GIL. */
static void kvsws_py_log(void *userdata, kvsws_log_level level, const char *line)
{
    (void)userdata;
    if (kvsws_py_finalizing())
        return;
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *handler = kvsws_py_log_handler;
    if (handler) {
        Py_INCREF(handler);
        PyObject *text = kvsws_py_str(line);
        PyObject *r = text ? PyObject_CallFunction(handler, "iO", (int)level, text) : NULL;
        if (!r)
            PyErr_WriteUnraisable(handler); /* a broken log handler never fails the call */
        Py_XDECREF(r);
        Py_XDECREF(text);
        Py_DECREF(handler);
    }
    PyGILState_Release(gil);
}

/* One option of (number, value): value is a str, an int (bools are ints) or None (unset). */
static kvsws_status kvsws_py_set_option(kvsws_config *cfg, PyObject *item, kvsws_error *err,
                                        int *py_failed)
{
    int opt = 0;
    PyObject *value = NULL;
    *py_failed = 1;
    if (!PyTuple_Check(item) || !PyArg_ParseTuple(item, "iO", &opt, &value)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "an option must be a (number, value) tuple");
        return KVSWS_E_CONFIG;
    }
    if (value == Py_None) {
        *py_failed = 0;
        return kvsws_config_set_str(cfg, (kvsws_option)opt, NULL, err);
    }
    if (PyLong_Check(value)) {
        long long v = PyLong_AsLongLong(value);
        if (v == -1 && PyErr_Occurred())
            return KVSWS_E_CONFIG;
        *py_failed = 0;
        return kvsws_config_set_int(cfg, (kvsws_option)opt, (int64_t)v, err);
    }
    if (PyUnicode_Check(value)) {
        Py_ssize_t size = 0;
        const char *s = PyUnicode_AsUTF8AndSize(value, &size);
        if (!s)
            return KVSWS_E_CONFIG;
        if ((size_t)size != strlen(s)) {
            PyErr_SetString(PyExc_ValueError, "embedded null character in an option");
            return KVSWS_E_CONFIG;
        }
        *py_failed = 0;
        return kvsws_config_set_str(cfg, (kvsws_option)opt, s, err);
    }
    PyErr_Format(PyExc_TypeError, "option %d: expected str, int or None, got %s", opt,
                 Py_TYPE(value)->tp_name);
    return KVSWS_E_CONFIG;
}
%}

/* Every wrapped function reports failure by setting a Python exception. */
%exception {
    $action
    if (PyErr_Occurred())
        SWIG_fail;
}

/* The status, option and log level numbers, straight from the header; none of its functions
 * (the helpers below are the whole Python-facing surface). */
%rename("$ignore", %$isfunction) "";
%include "kvsws.h"

/* No early return here: SWIG's init function returns a module or an int depending on its
 * version. If this fails (out of memory) the exception stays set and the import fails. */
%init %{
    kvsws_py_core_error = PyErr_NewException("kvsws._core.CoreError", NULL, NULL);
    if (kvsws_py_core_error)
        PyDict_SetItemString(d, "CoreError", kvsws_py_core_error);
%}

%rename(version) kvsws_py_version;
%rename(status_name) kvsws_py_status_name;
%rename(set_log_handler) kvsws_py_set_log_handler;
%rename(client_new) kvsws_py_client_new;
%rename(client_free) kvsws_py_client_free;
%rename(client_region) kvsws_py_client_region;
%rename(call) kvsws_py_call;
%rename(cancel_new) kvsws_py_cancel_new;
%rename(cancel_free) kvsws_py_cancel_free;
%rename(cancel_trigger) kvsws_py_cancel_trigger;

%inline %{
/* The version of the core linked into this extension. */
const char *kvsws_py_version(void) { return kvsws_version(); }

/* "KVSWS_E_RESOURCE_NOT_FOUND" for 203. */
const char *kvsws_py_status_name(int status) { return kvsws_status_name((kvsws_status)status); }

/* The callable that receives (level, line) for every core log line of every client created with
 * a log level; None stops delivery. Held for the life of the process. */
PyObject *kvsws_py_set_log_handler(PyObject *handler)
{
    if (handler != Py_None && !PyCallable_Check(handler)) {
        PyErr_SetString(PyExc_TypeError, "the log handler must be callable or None");
        return NULL;
    }
    PyObject *old = kvsws_py_log_handler;
    if (handler == Py_None) {
        kvsws_py_log_handler = NULL;
    } else {
        Py_INCREF(handler);
        kvsws_py_log_handler = handler;
    }
    Py_XDECREF(old);
    Py_RETURN_NONE;
}

/* A client from a sequence of (option number, value) and a core log level (0: off). The GIL is
 * released while the core resolves the region and profile. */
kvsws_client *kvsws_py_client_new(PyObject *options, int log_level)
{
    kvsws_client *client = NULL;
    kvsws_error *err = kvsws_error_new();
    kvsws_config *cfg = kvsws_config_new();
    PyObject *seq = NULL;
    kvsws_status st = KVSWS_OK;
    if (!err || !cfg) {
        PyErr_NoMemory();
        goto done;
    }
    seq = PySequence_Fast(options, "options must be a sequence of (number, value) tuples");
    if (!seq)
        goto done;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        int py_failed = 0;
        st = kvsws_py_set_option(cfg, PySequence_Fast_GET_ITEM(seq, i), err, &py_failed);
        if (st != KVSWS_OK) {
            if (!py_failed)
                kvsws_py_raise(st, err);
            goto done;
        }
    }
    if (log_level > KVSWS_LOG_OFF) {
        st = kvsws_config_set_int(cfg, KVSWS_OPT_LOG_LEVEL, log_level, err);
        if (st != KVSWS_OK) {
            kvsws_py_raise(st, err);
            goto done;
        }
        kvsws_config_set_log(cfg, kvsws_py_log, NULL);
    }
    Py_BEGIN_ALLOW_THREADS
    st = kvsws_client_new(cfg, &client, err);
    Py_END_ALLOW_THREADS
    if (st != KVSWS_OK) {
        client = NULL;
        kvsws_py_raise(st, err);
    }
done:
    Py_XDECREF(seq);
    kvsws_config_free(cfg); /* cleanses the secrets it held */
    kvsws_error_free(err);
    return client;
}

void kvsws_py_client_free(kvsws_client *client)
{
    Py_BEGIN_ALLOW_THREADS
    kvsws_client_free(client);
    Py_END_ALLOW_THREADS
}

const char *kvsws_py_client_region(kvsws_client *client)
{
    const char *region = kvsws_client_region(client);
    return region ? region : "";
}

/* One operation: (output JSON, HTTP status, request id, attempts), or CoreError. The GIL is
 * released for the whole call: validation, endpoint discovery, signing, sending, retries. */
PyObject *kvsws_py_call(kvsws_client *client, const char *operation, const char *input_json,
                        kvsws_cancel *cancel)
{
    kvsws_error *err = kvsws_error_new();
    if (!err)
        return PyErr_NoMemory();
    kvsws_response *resp = NULL;
    kvsws_status st;
    Py_BEGIN_ALLOW_THREADS
    st = kvsws_client_call(client, operation, input_json, cancel, &resp, err);
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    if (st != KVSWS_OK) {
        kvsws_py_raise(st, err);
    } else {
        PyObject *json = kvsws_py_str(kvsws_response_json(resp));
        PyObject *request_id = kvsws_py_str(kvsws_response_request_id(resp));
        if (json && request_id)
            result = Py_BuildValue("(OiOi)", json, kvsws_response_http_status(resp), request_id,
                                   kvsws_response_attempts(resp));
        Py_XDECREF(json);
        Py_XDECREF(request_id);
    }
    kvsws_response_free(resp);
    kvsws_error_free(err);
    return result;
}

kvsws_cancel *kvsws_py_cancel_new(void)
{
    kvsws_cancel *cancel = kvsws_cancel_new();
    if (!cancel)
        PyErr_NoMemory();
    return cancel;
}

void kvsws_py_cancel_free(kvsws_cancel *cancel) { kvsws_cancel_free(cancel); }

/* Makes every call given this token return KVSWS_E_CANCELLED promptly; any thread. */
void kvsws_py_cancel_trigger(kvsws_cancel *cancel) { kvsws_cancel_trigger(cancel); }
%}
