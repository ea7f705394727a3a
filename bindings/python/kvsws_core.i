/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvsws_core.i - the SWIG layer under the kvsws Python package (kvsws._core). Thin on purpose.
 *
 * It wraps the C ABI in a few functions and adds exactly three things:
 *  - the GIL is released around everything that can block (creating a client reads files and may
 *    run credential_process; a call talks to AWS; a storage session's next event may run a
 *    (re)connect step; its sends write to the WebSocket), so threads run in parallel;
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kvsws.h>

#include "cli.h"    /* kvsws_cli_run: the kvsws command, compiled into this extension */
#include "api/call.h"   /* kvi_call: a call on parsed JSON, so Python objects skip the json module */
#include "api/client.h" /* kvi_cancel_on_wait: Ctrl-C checks while a main-thread call waits */

static PyObject *kvsws_py_core_error = NULL;  /* _core.CoreError */
static PyObject *kvsws_py_log_handler = NULL; /* set_log_handler(); kept for the process */

/* Set by an atexit hook when the interpreter starts to exit: from then on a log line from a
 * thread still inside a call is dropped instead of taking the GIL. (Py_IsFinalizing is not in
 * the 3.11 limited API this module is built for, and atexit runs earlier anyway.) */
static int kvsws_py_exiting = 0;

static PyObject *kvsws_py_mark_exiting(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    __atomic_store_n(&kvsws_py_exiting, 1, __ATOMIC_RELEASE);
    Py_RETURN_NONE;
}

static PyMethodDef kvsws_py_mark_exiting_def = {"_mark_exiting", kvsws_py_mark_exiting,
                                                 METH_NOARGS, NULL};

static int kvsws_py_finalizing(void)
{
    return __atomic_load_n(&kvsws_py_exiting, __ATOMIC_ACQUIRE);
}

/* atexit.register(_mark_exiting); 0 on success, -1 with an exception set. */
static int kvsws_py_register_exit_hook(void)
{
    PyObject *atexit = PyImport_ImportModule("atexit");
    PyObject *hook = atexit ? PyCFunction_New(&kvsws_py_mark_exiting_def, NULL) : NULL;
    PyObject *r = hook ? PyObject_CallMethod(atexit, "register", "O", hook) : NULL;
    Py_XDECREF(r);
    Py_XDECREF(hook);
    Py_XDECREF(atexit);
    return r ? 0 : -1;
}

/* A list or tuple as a new tuple (items borrowed from it stay alive with it); NULL with a
 * TypeError saying what was expected. */
static PyObject *kvsws_py_tuple(PyObject *seq, const char *expected)
{
    if (!PyList_Check(seq) && !PyTuple_Check(seq)) {
        PyErr_SetString(PyExc_TypeError, expected);
        return NULL;
    }
    return PySequence_Tuple(seq);
}

/* TypeError "<what>: expected <expected>, got <type name>". Always returns NULL. */
static PyObject *kvsws_py_type_error(const char *what, int number, const char *expected,
                                     PyObject *value)
{
    PyObject *name = PyType_GetName(Py_TYPE(value));
    if (name)
        PyErr_Format(PyExc_TypeError, "%s %d: expected %s, got %U", what, number, expected, name);
    Py_XDECREF(name);
    return NULL;
}

/* C strings from the core are UTF-8; a stray byte from a server never makes decoding fail. */
static PyObject *kvsws_py_str(const char *s)
{
    if (!s)
        s = "";
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
}

/* ---- JSON values as Python objects, without the json module -------------------------------- */

/* Deeper input is refused (json.dumps would recurse until RecursionError). */
#define KVSWS_PY_JSON_DEPTH_MAX 64

/* A parsed JSON number as json.loads would read the core's printed form of it (cJSON's printer:
 * an int when it prints without '.' or an exponent, else a float; NaN and infinities as None). */
static PyObject *kvsws_py_from_number(const cJSON *item)
{
    double d = item->valuedouble;
    if (d != d || d - d != 0)
        Py_RETURN_NONE;
    char text[32];
    if (d == (double)item->valueint) {
        snprintf(text, sizeof text, "%d", item->valueint);
    } else {
        snprintf(text, sizeof text, "%1.15g", d);
        if (strtod(text, NULL) != d)
            snprintf(text, sizeof text, "%1.17g", d);
    }
    if (strpbrk(text, ".eE"))
        return PyFloat_FromDouble(d);
    return PyLong_FromString(text, NULL, 10);
}

/* The Python value of a parsed JSON value (dict, list, str, int, float, bool, None). */
static PyObject *kvsws_py_from_cjson(const cJSON *item)
{
    if (cJSON_IsObject(item)) {
        PyObject *dict = PyDict_New();
        for (const cJSON *m = item->child; dict && m; m = m->next) {
            PyObject *name = kvsws_py_str(m->string ? m->string : ""); /* not interned: a one-off */
            PyObject *value = name ? kvsws_py_from_cjson(m) : NULL;
            if (!value || PyDict_SetItem(dict, name, value) != 0) {
                Py_XDECREF(name);
                Py_XDECREF(value);
                Py_DECREF(dict);
                return NULL;
            }
            Py_DECREF(name);
            Py_DECREF(value);
        }
        return dict;
    }
    if (cJSON_IsArray(item)) {
        PyObject *list = PyList_New(0);
        for (const cJSON *m = item->child; list && m; m = m->next) {
            PyObject *value = kvsws_py_from_cjson(m);
            if (!value || PyList_Append(list, value) != 0) {
                Py_XDECREF(value);
                Py_DECREF(list);
                return NULL;
            }
            Py_DECREF(value);
        }
        return list;
    }
    if (cJSON_IsString(item))
        return kvsws_py_str(item->valuestring);
    if (cJSON_IsNumber(item))
        return kvsws_py_from_number(item);
    if (cJSON_IsBool(item))
        return PyBool_FromLong(cJSON_IsTrue(item));
    Py_RETURN_NONE;
}

/* A JSON text (the core's headers object) as a Python value; {} when it is not JSON. */
static PyObject *kvsws_py_from_json_text(const char *text)
{
    cJSON *parsed = text ? cJSON_Parse(text) : NULL;
    PyObject *value = parsed ? kvsws_py_from_cjson(parsed) : PyDict_New();
    cJSON_Delete(parsed);
    return value;
}

static cJSON *kvsws_py_to_cjson(PyObject *value, PyObject *fallback, int depth);

/* TypeError(fmt % type(obj).__name__): fmt takes the name as %U (the limited API has no tp_name). */
static void kvsws_py_json_type_error(const char *fmt, PyObject *obj)
{
    PyObject *name = PyType_GetName(Py_TYPE(obj));
    if (name) {
        PyErr_Format(PyExc_TypeError, fmt, name);
        Py_DECREF(name);
    }
}

/* A dict's items as an object's members (keys must be str, as the operations' members are). The
 * call's own arguments (depth 0) that are None were not given, as boto3 treats them. */
static cJSON *kvsws_py_object_to_cjson(PyObject *dict, PyObject *fallback, int depth)
{
    cJSON *object = cJSON_CreateObject();
    PyObject *key, *member;
    Py_ssize_t pos = 0;
    while (object && PyDict_Next(dict, &pos, &key, &member)) {
        if (depth == 0 && member == Py_None)
            continue;
        if (!PyUnicode_Check(key)) {
            kvsws_py_json_type_error("keys must be str, not %U", key);
            cJSON_Delete(object);
            return NULL;
        }
        const char *name = PyUnicode_AsUTF8AndSize(key, NULL);
        cJSON *converted = name ? kvsws_py_to_cjson(member, fallback, depth + 1) : NULL;
        if (!converted) {
            cJSON_Delete(object);
            return NULL;
        }
        cJSON_AddItemToObject(object, name, converted);
    }
    if (!object)
        PyErr_NoMemory();
    return object;
}

/* A list's or tuple's items as an array. */
static cJSON *kvsws_py_array_to_cjson(PyObject *seq, PyObject *fallback, int depth)
{
    int is_list = PyList_Check(seq);
    Py_ssize_t n = is_list ? PyList_Size(seq) : PyTuple_Size(seq);
    cJSON *array = cJSON_CreateArray();
    for (Py_ssize_t i = 0; array && i < n; i++) {
        PyObject *item = is_list ? PyList_GetItem(seq, i) : PyTuple_GetItem(seq, i);
        cJSON *converted = item ? kvsws_py_to_cjson(item, fallback, depth + 1) : NULL;
        if (!converted) {
            cJSON_Delete(array);
            return NULL;
        }
        cJSON_AddItemToArray(array, converted);
    }
    if (!array)
        PyErr_NoMemory();
    return array;
}

/* A Python value as JSON, as json.dumps(value, default=fallback, allow_nan=False) would write
 * it; NULL with the Python error set (TypeError, ValueError, MemoryError) otherwise. */
static cJSON *kvsws_py_to_cjson(PyObject *value, PyObject *fallback, int depth)
{
    if (depth > KVSWS_PY_JSON_DEPTH_MAX) {
        PyErr_SetString(PyExc_ValueError, "the input is nested too deeply (a circular reference?)");
        return NULL;
    }
    cJSON *item = NULL;
    if (value == Py_None) {
        item = cJSON_CreateNull();
    } else if (value == Py_True || value == Py_False) {
        item = cJSON_CreateBool(value == Py_True);
    } else if (PyUnicode_Check(value)) {
        Py_ssize_t len = 0;
        const char *s = PyUnicode_AsUTF8AndSize(value, &len);
        if (!s)
            return NULL;
        if ((size_t)len != strlen(s)) {
            PyErr_SetString(PyExc_ValueError, "a string holds a NUL character");
            return NULL;
        }
        item = cJSON_CreateString(s);
    } else if (PyLong_Check(value) || PyFloat_Check(value)) {
        double d = PyFloat_Check(value) ? PyFloat_AsDouble(value) : PyLong_AsDouble(value);
        if (PyErr_Occurred())
            return NULL;
        if (d != d || d - d != 0) {
            PyErr_SetString(PyExc_ValueError, "Out of range float values are not JSON compliant");
            return NULL;
        }
        item = cJSON_CreateNumber(d);
    } else if (PyDict_Check(value)) {
        return kvsws_py_object_to_cjson(value, fallback, depth);
    } else if (PyList_Check(value) || PyTuple_Check(value)) {
        return kvsws_py_array_to_cjson(value, fallback, depth);
    } else if (fallback && fallback != Py_None) {
        /* Other mappings and sequences: what json.dumps's default= would make of them. */
        PyObject *plain = PyObject_CallFunctionObjArgs(fallback, value, NULL);
        if (!plain)
            return NULL;
        item = kvsws_py_to_cjson(plain, NULL, depth + 1);
        Py_DECREF(plain);
        return item;
    } else {
        kvsws_py_json_type_error("Object of type %U is not JSON serializable", value);
        return NULL;
    }
    if (!item)
        PyErr_NoMemory();
    return item;
}

/* Raises CoreError(status, status_name, code, message, operation, request_id, http_status,
 * retryable, attempts, describe, http_headers) from a failed call's error (the headers as a
 * dict of lower-case names). Always returns NULL. */
static PyObject *kvsws_py_raise(kvsws_status st, const kvsws_error *err)
{
    if (!err)
        return PyErr_NoMemory();
    if (!kvsws_py_core_error) {
        PyErr_SetString(PyExc_RuntimeError, "kvsws._core was not initialised");
        return NULL;
    }
    PyObject *args = PyTuple_New(11);
    if (!args)
        return NULL;
    PyObject *items[11] = {
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
        kvsws_py_from_json_text(kvsws_error_http_headers_json(err)),
    };
    for (Py_ssize_t i = 0; i < 11; i++) {
        if (!items[i]) {
            for (Py_ssize_t j = i + 1; j < 11; j++)
                Py_XDECREF(items[j]);
            Py_DECREF(args);
            return NULL;
        }
        PyTuple_SetItem(args, i, items[i]); /* steals; cannot fail on a new tuple */
    }
    PyErr_SetObject(kvsws_py_core_error, args);
    Py_DECREF(args);
    return NULL;
}

/* A call made on the main thread, where Python runs signal handlers: while the call waits, the
 * core calls kvsws_py_check_signals, which takes the GIL back for a moment to run any pending
 * handler (as psycopg does). A handler that raises (Ctrl-C's KeyboardInterrupt) cancels the call,
 * and its exception is what the call raises. No helper thread, no thread hop. */
typedef struct kvsws_py_wait {
    kvsws_cancel *cancel;
    int raised; /* a signal handler raised: its exception is set on this thread */
    int64_t next_check_ms; /* CLOCK_MONOTONIC: the GIL is taken at most this often */
} kvsws_py_wait;

/* Ctrl-C lands within this (plus the core's 50 ms wait slice); a call shorter than it never takes
 * the GIL back at all (a signal that arrived before it started was handled by Python then). */
#define KVSWS_PY_SIGNAL_CHECK_MS 10

static int64_t kvsws_py_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* This thread's interruptible call, for a handler that raises inside a log line (thread-local:
 * never shared, so no lock). */
static _Thread_local kvsws_py_wait *kvsws_py_waiting = NULL;

static void kvsws_py_check_signals(void *userdata)
{
    kvsws_py_wait *wait = userdata;
    if (wait->raised)
        return;
    int64_t now = kvsws_py_now_ms();
    if (now < wait->next_check_ms)
        return;
    wait->next_check_ms = now + KVSWS_PY_SIGNAL_CHECK_MS;
    PyGILState_STATE gil = PyGILState_Ensure();
    if (PyErr_CheckSignals() != 0) {
        wait->raised = 1;
        kvsws_cancel_trigger(wait->cancel);
    }
    PyGILState_Release(gil);
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
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb); /* a call's pending KeyboardInterrupt outlives the line */
        Py_INCREF(handler);
        PyObject *text = kvsws_py_str(line);
        PyObject *r = text ? PyObject_CallFunction(handler, "iO", (int)level, text) : NULL;
        kvsws_py_wait *wait = kvsws_py_waiting;
        if (!r && wait && !PyErr_ExceptionMatches(PyExc_Exception)) {
            /* A signal handler ran inside the log handler and raised: that ends the call (the
             * first such exception is the one it raises). */
            if (!type) {
                wait->raised = 1;
                kvsws_cancel_trigger(wait->cancel);
                PyErr_Fetch(&type, &value, &tb);
            } else {
                PyErr_Clear();
            }
        } else if (!r) {
            PyErr_WriteUnraisable(handler); /* a broken log handler never fails the call */
        }
        PyErr_Restore(type, value, tb);
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
    kvsws_py_type_error("option", opt, "str, int or None", value);
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
    if (kvsws_py_core_error)
        kvsws_py_register_exit_hook();
%}

%rename(version) kvsws_py_version;
%rename(status_name) kvsws_py_status_name;
%rename(set_log_handler) kvsws_py_set_log_handler;
%rename(client_new) kvsws_py_client_new;
%rename(client_free) kvsws_py_client_free;
%rename(client_set_log_level) kvsws_py_client_set_log_level;
%rename(client_region) kvsws_py_client_region;
%rename(call) kvsws_py_call;
%rename(sign_request) kvsws_py_sign_request;
%rename(cancel_new) kvsws_py_cancel_new;
%rename(cancel_free) kvsws_py_cancel_free;
%rename(cancel_trigger) kvsws_py_cancel_trigger;
%rename(session_new) kvsws_py_session_new;
%rename(session_set_str) kvsws_py_session_set_str;
%rename(session_set_int) kvsws_py_session_set_int;
%rename(session_start) kvsws_py_session_start;
%rename(session_fd) kvsws_py_session_fd;
%rename(session_state) kvsws_py_session_state;
%rename(session_stats_json) kvsws_py_session_stats_json;
%rename(session_next_event_json) kvsws_py_session_next_event_json;
%rename(session_send_answer) kvsws_py_session_send_answer;
%rename(session_send_candidate) kvsws_py_session_send_candidate;
%rename(session_wake) kvsws_py_session_wake;
%rename(session_close) kvsws_py_session_close;
%rename(session_free) kvsws_py_session_free;
%rename(cli_run) kvsws_py_cli_run;

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

/* A client from a sequence of (option number, value) and a core log level (0: off; always set,
 * so KVSWS_LOG_LEVEL is not read: the "kvsws" logger decides). The GIL is released while the
 * core resolves the region and profile. */
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
    seq = kvsws_py_tuple(options, "options must be a sequence of (number, value) tuples");
    if (!seq)
        goto done;
    for (Py_ssize_t i = 0; i < PyTuple_Size(seq); i++) {
        int py_failed = 0;
        st = kvsws_py_set_option(cfg, PyTuple_GetItem(seq, i), err, &py_failed);
        if (st != KVSWS_OK) {
            if (!py_failed)
                kvsws_py_raise(st, err);
            goto done;
        }
    }
    st = kvsws_config_set_int(cfg, KVSWS_OPT_LOG_LEVEL, log_level, err);
    if (st != KVSWS_OK) {
        kvsws_py_raise(st, err);
        goto done;
    }
    kvsws_config_set_log(cfg, kvsws_py_log, NULL); /* the level may rise later */
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

/* Follows the "kvsws" logger's level (quick: one atomic store, no GIL release needed). */
void kvsws_py_client_set_log_level(kvsws_client *client, int level)
{
    kvsws_client_set_log_level(client, (kvsws_log_level)level);
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

/* SigV4 for the caller's own transport: the headers to add ("Name: value" lines) or, with
 * expires > 0, the presigned URL. headers is a sequence of "Name: value" str. The GIL is
 * released: a credential_process may run. */
PyObject *kvsws_py_sign_request(kvsws_client *client, const char *service, const char *method,
                                const char *url, PyObject *headers, PyObject *body,
                                long long expires, long long timestamp)
{
    PyObject *seq = kvsws_py_tuple(headers, "headers must be a sequence of str");
    if (!seq)
        return NULL;
    Py_ssize_t n = PyTuple_Size(seq);
    const char **list = calloc((size_t)n + 1, sizeof *list);
    if (!list) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        list[i] = PyUnicode_AsUTF8AndSize(PyTuple_GetItem(seq, i), NULL);
        if (!list[i]) {
            free(list);
            Py_DECREF(seq);
            return NULL;
        }
    }
    char *data = NULL;
    Py_ssize_t len = 0;
    if (PyBytes_AsStringAndSize(body, &data, &len) != 0) {
        free(list);
        Py_DECREF(seq);
        return NULL;
    }
    kvsws_error *err = kvsws_error_new();
    char *out = NULL;
    kvsws_status st = KVSWS_E_NO_MEMORY;
    if (err) {
        Py_BEGIN_ALLOW_THREADS
        st = kvsws_sign_request(client, service, method, url, list, data, (size_t)len, expires,
                                timestamp, &out, err);
        Py_END_ALLOW_THREADS
    }
    PyObject *result = st == KVSWS_OK ? kvsws_py_str(out) : kvsws_py_raise(st, err);
    kvsws_string_free(out);
    kvsws_error_free(err);
    free(list);
    Py_DECREF(seq);
    return result;
}

/* One operation: (output, HTTP status, request id, attempts, headers), or CoreError. params is
 * a dict (values JSON can hold; others go through fallback, as json.dumps's default=; members
 * that are None are left out); the output and headers come back as dicts, so no JSON text is
 * written or read in Python. The GIL is
 * released for the whole call: validation, endpoint discovery, signing, sending, retries.
 * interruptible (the main thread): pending signal handlers run while the call waits, and one
 * that raises cancels the call and is raised instead. */
PyObject *kvsws_py_call(kvsws_client *client, const char *operation, PyObject *params,
                        PyObject *fallback, kvsws_cancel *cancel, int interruptible)
{
    if (!PyDict_Check(params)) {
        PyErr_SetString(PyExc_TypeError, "params must be a dict");
        return NULL;
    }
    cJSON *input = kvsws_py_to_cjson(params, fallback, 0);
    if (!input)
        return NULL;
    kvsws_error *err = kvsws_error_new();
    if (!err) {
        cJSON_Delete(input);
        return PyErr_NoMemory();
    }
    kvsws_response *resp = NULL;
    kvsws_status st;
    kvsws_py_wait wait = {cancel, 0, kvsws_py_now_ms() + KVSWS_PY_SIGNAL_CHECK_MS};
    interruptible = interruptible && cancel;
    if (interruptible) {
        kvi_cancel_on_wait(cancel, kvsws_py_check_signals, &wait);
        kvsws_py_waiting = &wait;
    }
    Py_BEGIN_ALLOW_THREADS
    st = kvi_call(client, operation, NULL, input, cancel, &resp, err);
    Py_END_ALLOW_THREADS
    if (interruptible) {
        kvi_cancel_on_wait(cancel, NULL, NULL);
        kvsws_py_waiting = NULL;
    }
    cJSON_Delete(input);
    PyObject *result = NULL;
    if (wait.raised) {
        /* the signal handler's exception is set: it wins over the call's own outcome */
    } else if (st != KVSWS_OK) {
        kvsws_py_raise(st, err);
    } else {
        PyObject *output = resp->output ? kvsws_py_from_cjson(resp->output) : PyDict_New();
        PyObject *request_id = kvsws_py_str(kvsws_response_request_id(resp));
        PyObject *headers = resp->headers ? kvsws_py_from_cjson(resp->headers) : PyDict_New();
        if (output && request_id && headers)
            result = Py_BuildValue("(OiOiO)", output, kvsws_response_http_status(resp), request_id,
                                   kvsws_response_attempts(resp), headers);
        Py_XDECREF(output);
        Py_XDECREF(request_id);
        Py_XDECREF(headers);
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

/* ---- storage sessions: the pull-based event source (kvsws.StorageSession) ------------------- */

/* A session on the client (options unset, not started). kvsws.StorageSession keeps the client
 * alive for as long as the session exists. */
kvsws_session *kvsws_py_session_new(kvsws_client *client)
{
    kvsws_error *err = kvsws_error_new();
    if (!err) {
        PyErr_NoMemory();
        return NULL;
    }
    kvsws_session *s = NULL;
    kvsws_status st = kvsws_session_new(client, &s, err);
    if (st != KVSWS_OK) {
        s = NULL;
        kvsws_py_raise(st, err);
    }
    kvsws_error_free(err);
    return s;
}

/* A string option (None: unset); no I/O. */
void kvsws_py_session_set_str(kvsws_session *s, int opt, PyObject *value)
{
    const char *text = NULL;
    if (value != Py_None) {
        Py_ssize_t size = 0;
        if (!PyUnicode_Check(value)) {
            kvsws_py_type_error("session option", opt, "str or None", value);
            return;
        }
        text = PyUnicode_AsUTF8AndSize(value, &size);
        if (!text)
            return;
        if ((size_t)size != strlen(text)) {
            PyErr_SetString(PyExc_ValueError, "embedded null character in a session option");
            return;
        }
    }
    kvsws_error *err = kvsws_error_new();
    if (!err) {
        PyErr_NoMemory();
        return;
    }
    kvsws_status st = kvsws_session_set_str(s, (kvsws_session_option)opt, text, err);
    if (st != KVSWS_OK)
        kvsws_py_raise(st, err);
    kvsws_error_free(err);
}

void kvsws_py_session_set_int(kvsws_session *s, int opt, long long value)
{
    kvsws_error *err = kvsws_error_new();
    if (!err) {
        PyErr_NoMemory();
        return;
    }
    kvsws_status st = kvsws_session_set_int(s, (kvsws_session_option)opt, (int64_t)value, err);
    if (st != KVSWS_OK)
        kvsws_py_raise(st, err);
    kvsws_error_free(err);
}

/* Checks the options (no I/O) and starts: the work happens in next_event. */
void kvsws_py_session_start(kvsws_session *s)
{
    kvsws_error *err = kvsws_error_new();
    if (!err) {
        PyErr_NoMemory();
        return;
    }
    kvsws_status st = kvsws_session_start(s, err);
    if (st != KVSWS_OK)
        kvsws_py_raise(st, err);
    kvsws_error_free(err);
}

int kvsws_py_session_fd(kvsws_session *s) { return kvsws_session_fd(s); }

/* "new", "connecting", "joining", "connected", "reconnecting", "closed". */
const char *kvsws_py_session_state(kvsws_session *s)
{
    return kvsws_session_state_name(kvsws_session_get_state(s));
}

/* The next event as kvsws_event_json's text, or None when nothing happened within timeout_ms
 * (0: do not wait; -1: forever). The GIL is released: this does the session's work, which may
 * be a (re)connect step (HTTPS calls, the WebSocket handshake) bounded by the client's timeouts. */
PyObject *kvsws_py_session_next_event_json(kvsws_session *s, int timeout_ms)
{
    kvsws_error *err = kvsws_error_new();
    if (!err)
        return PyErr_NoMemory();
    kvsws_event *ev = NULL;
    kvsws_status st;
    Py_BEGIN_ALLOW_THREADS
    st = kvsws_session_next_event(s, timeout_ms, &ev, err);
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    if (st != KVSWS_OK) {
        kvsws_py_raise(st, err);
    } else if (!ev) {
        Py_INCREF(Py_None);
        result = Py_None;
    } else {
        result = kvsws_py_str(kvsws_event_json(ev));
    }
    kvsws_event_free(ev);
    kvsws_error_free(err);
    return result;
}

/* The answer (checked for H.264 + Opus by the core) to the last offer's sender, or recipient. */
void kvsws_py_session_send_answer(kvsws_session *s, const char *sdp, const char *recipient)
{
    kvsws_error *err = kvsws_error_new();
    if (!err) {
        PyErr_NoMemory();
        return;
    }
    kvsws_status st;
    Py_BEGIN_ALLOW_THREADS
    st = kvsws_session_send_answer(s, sdp, recipient, err);
    Py_END_ALLOW_THREADS
    if (st != KVSWS_OK)
        kvsws_py_raise(st, err);
    kvsws_error_free(err);
}

void kvsws_py_session_send_candidate(kvsws_session *s, const char *candidate, const char *sdp_mid,
                                     int sdp_mline_index, const char *recipient)
{
    kvsws_error *err = kvsws_error_new();
    if (!err) {
        PyErr_NoMemory();
        return;
    }
    kvsws_status st;
    Py_BEGIN_ALLOW_THREADS
    st = kvsws_session_send_candidate(s, candidate, sdp_mid, sdp_mline_index, recipient, err);
    Py_END_ALLOW_THREADS
    if (st != KVSWS_OK)
        kvsws_py_raise(st, err);
    kvsws_error_free(err);
}

/* kvsws_session_stats_json's document as str. Quick (a lock and a few counters): the GIL stays. */
PyObject *kvsws_py_session_stats_json(kvsws_session *s)
{
    kvsws_error *err = kvsws_error_new();
    if (!err)
        return PyErr_NoMemory();
    char *json = NULL;
    kvsws_status st = kvsws_session_stats_json(s, &json, err);
    PyObject *result = st != KVSWS_OK ? (kvsws_py_raise(st, err), NULL) : kvsws_py_str(json);
    kvsws_string_free(json);
    kvsws_error_free(err);
    return result;
}

/* Both safe from any thread and quick (an eventfd write). */
void kvsws_py_session_wake(kvsws_session *s) { kvsws_session_wake(s); }
void kvsws_py_session_close(kvsws_session *s) { kvsws_session_close(s); }

/* Frees the session; closes its WebSocket politely first if it is open (up to ~1 s). */
void kvsws_py_session_free(kvsws_session *s)
{
    Py_BEGIN_ALLOW_THREADS
    kvsws_session_free(s);
    Py_END_ALLOW_THREADS
}

/* The kvsws command with argv (a sequence of bytes, argv[0] first): what the C executable
 * prints, on the process's own stdout and stderr, and its exit code. The GIL is released. */
PyObject *kvsws_py_cli_run(PyObject *args)
{
    PyObject *seq = kvsws_py_tuple(args, "argv must be a sequence of bytes");
    if (!seq)
        return NULL;
    Py_ssize_t n = PyTuple_Size(seq);
    char **argv = calloc((size_t)n + 1, sizeof *argv);
    if (!argv) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        argv[i] = PyBytes_AsString(PyTuple_GetItem(seq, i));
        if (!argv[i]) {
            free(argv);
            Py_DECREF(seq);
            return NULL;
        }
    }
    int code;
    Py_BEGIN_ALLOW_THREADS
    code = kvsws_cli_run((int)n, argv);
    fflush(stdout); /* Python exits through its own buffers, not C's */
    fflush(stderr);
    Py_END_ALLOW_THREADS
    free(argv);
    Py_DECREF(seq);
    return PyLong_FromLong(code);
}
%}
