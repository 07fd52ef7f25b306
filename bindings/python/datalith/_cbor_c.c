/*
** _cbor_c.c — datalith._cbor_c, the fast path of datalith.cbor.loads (and
** dumps): a
** CBOR decoder written against the CPython API that builds the same native
** values as the pure-Python decoder in cbor.py (which stays the reference
** and the fallback).
**
** It decodes what the engine writes: definite-length items, ints up to
** 64 bits, text, bytes, arrays, maps, floats, true/false/nil, and the tags
** 39 (keyword/symbol, interned in a bounded cache), 258 (set), the list tag,
** 27 (tagged value, e.g. a datom) and 55799 (self-describing).  The
** remaining datalith tags (inst, UUID, bignum, bigdec, char) are decoded
** inside and handed to a
** Python hook, cbor._tag_value(tag, value, offset), which finishes them as
** cbor.py does.  Anything else — indefinite lengths, malformed or truncated
** input, invalid UTF-8, duplicate map keys or set elements, nesting deeper
** than MAX_DEPTH, an error in the hook — makes loads() return the FALLBACK
** sentinel, and cbor.loads then runs the pure-Python decoder on the same
** bytes, which gives the exact value or raises the documented error.  So
** this module never decides an error on its own: the two decoders can only
** differ in speed.  dumps() is the same for cbor.dumps: the common exact
** types here, the fallback for anything else (see "encoding" below).
**
**   configure(Keyword, Symbol, FrozenMap, EdnList, Tagged, tag_hook, fallback, max_depth)
**   loads(data: bytes) -> value | fallback
**   dumps(value) -> bytes | fallback
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

static PyObject *Keyword, *Symbol, *FrozenMap, *EdnList, *Tagged, *TagHook, *Fallback;
static PyObject *TagSyms; /* tag 27 names ("datahike/Datom") -> Symbol */
static PyObject *Idents; /* full text (":a", "?e") -> interned Keyword/Symbol */
static int MaxDepth = 512;
#define IDENTS_MAX 65536

#define TAG_IDENT 39
#define TAG_SET 258
#define TAG_LIST 0x44544C01ULL
#define TAG_SELFDESC 55799

typedef struct dec {
    const unsigned char *p, *end, *start;
} dec;

/* NULL with no exception set: "not handled here, fall back". */
#define GIVE_UP NULL

static int arg(dec *d, unsigned ai, uint64_t *out) {
    if (ai < 24) {
        *out = ai;
        return 0;
    }
    int k = ai == 24 ? 1 : ai == 25 ? 2 : ai == 26 ? 4 : ai == 27 ? 8 : 0;
    if (!k || d->end - d->p < k) return -1;
    uint64_t v = 0;
    for (int i = 0; i < k; i++) v = v << 8 | d->p[i];
    d->p += k;
    *out = v;
    return 0;
}

static PyObject *item(dec *d, int depth, int key);

/* A direct-mapped cache in front of Idents, keyed by the raw UTF-8 bytes, so
** that a keyword seen before costs a hash and a memcmp, no allocation. */
#define SLOTS 512
#define SLOT_MAX 40
static struct slot {
    unsigned char len;
    char text[SLOT_MAX];
    PyObject *obj; /* strong reference */
} Slots[SLOTS];

static unsigned slot_of(const unsigned char *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

/* The same for short text: strings are immutable, so equal ones can be one
** object (and its hash, once computed, is kept). */
#define TEXTS 1024
#define TEXT_MAX 24
static struct text_slot {
    unsigned char len;
    char text[TEXT_MAX];
    PyObject *obj; /* strong reference */
} Texts[TEXTS];

static PyObject *ident(dec *d, int depth) {
    if (d->p >= d->end || (*d->p >> 5) != 3) return GIVE_UP;
    unsigned ai = *d->p++ & 31;
    uint64_t n;
    if (arg(d, ai, &n) || n > (uint64_t)(d->end - d->p) || n == 0) return GIVE_UP;
    struct slot *sl = NULL;
    if (n <= SLOT_MAX) {
        sl = &Slots[slot_of(d->p, (size_t)n) % SLOTS];
        if (sl->obj && sl->len == n && !memcmp(sl->text, d->p, (size_t)n)) {
            d->p += n;
            Py_INCREF(sl->obj);
            return sl->obj;
        }
    }
    PyObject *text = PyUnicode_DecodeUTF8((const char *)d->p, (Py_ssize_t)n, "strict");
    if (!text) {
        PyErr_Clear();
        return GIVE_UP;
    }
    d->p += n;
    PyObject *v = PyDict_GetItemWithError(Idents, text); /* borrowed */
    if (v) {
        Py_DECREF(text);
        Py_INCREF(v);
        if (sl) {
            Py_INCREF(v);
            Py_XSETREF(sl->obj, v);
            sl->len = (unsigned char)n;
            memcpy(sl->text, d->p - n, (size_t)n);
        }
        return v;
    }
    if (PyErr_Occurred()) goto fail;
    if (PyUnicode_GET_LENGTH(text) == 1 && PyUnicode_READ_CHAR(text, 0) == ':') goto fail;
    if (PyUnicode_READ_CHAR(text, 0) == ':') {
        PyObject *name = PyUnicode_Substring(text, 1, PyUnicode_GET_LENGTH(text));
        if (!name) goto fail;
        v = PyObject_CallFunctionObjArgs(Keyword, name, NULL);
        Py_DECREF(name);
    } else {
        v = PyObject_CallFunctionObjArgs(Symbol, text, NULL);
    }
    if (!v) goto fail;
    if (PyDict_GET_SIZE(Idents) < IDENTS_MAX && PyDict_SetItem(Idents, text, v) < 0) {
        Py_DECREF(v);
        goto fail;
    }
    Py_DECREF(text);
    return v;
fail:
    PyErr_Clear();
    Py_DECREF(text);
    return GIVE_UP;
}

static PyObject *array(dec *d, uint64_t n, int depth, int key) {
    if (n > (uint64_t)(d->end - d->p)) return GIVE_UP; /* every item takes a byte */
    PyObject *a = key ? PyTuple_New((Py_ssize_t)n) : PyList_New((Py_ssize_t)n);
    if (!a) return NULL;
    for (uint64_t i = 0; i < n; i++) {
        PyObject *x;
        if (d->p < d->end && *d->p < 24) { /* small int, inline */
            x = PyLong_FromLong(*d->p++);
        } else {
            x = item(d, depth + 1, key);
        }
        if (!x) {
            Py_DECREF(a);
            return NULL;
        }
        if (key) PyTuple_SET_ITEM(a, (Py_ssize_t)i, x);
        else PyList_SET_ITEM(a, (Py_ssize_t)i, x);
    }
    return a;
}

static PyObject *map(dec *d, uint64_t n, int depth, int key) {
    if (n > (uint64_t)(d->end - d->p) / 2) return GIVE_UP;
    PyObject *m = PyDict_New();
    if (!m) return NULL;
    for (uint64_t i = 0; i < n; i++) {
        PyObject *k = item(d, depth + 1, 1);
        if (!k) goto fail;
        PyObject *v = item(d, depth + 1, key);
        if (!v) {
            Py_DECREF(k);
            goto fail;
        }
        int rc = PyDict_SetItem(m, k, v);
        Py_DECREF(k);
        Py_DECREF(v);
        if (rc < 0) goto fail;
        if ((uint64_t)PyDict_GET_SIZE(m) != i + 1) { /* a duplicate key: cbor.py says which kind */
            Py_DECREF(m);
            return GIVE_UP;
        }
    }
    if (key) {
        PyObject *f = PyObject_CallFunctionObjArgs(FrozenMap, m, NULL);
        Py_DECREF(m);
        return f;
    }
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}

static double half(unsigned h) {
    unsigned e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, (int)e - 25);
    return h & 0x8000 ? -v : v;
}

static PyObject *tagged(dec *d, uint64_t tag, const unsigned char *at, int depth, int key) {
    if (tag == TAG_IDENT) return ident(d, depth);
    if (tag == TAG_SET) {
        if (d->p >= d->end || (*d->p >> 5) != 4) return GIVE_UP;
        unsigned ai = *d->p++ & 31;
        uint64_t n;
        if (ai == 31 || arg(d, ai, &n)) return GIVE_UP;
        if (depth >= MaxDepth) return GIVE_UP;
        PyObject *elems = array(d, n, depth, 1);
        if (!elems) return NULL;
        PyObject *s = key ? PyFrozenSet_New(elems) : PySet_New(elems);
        Py_DECREF(elems);
        if (s && (uint64_t)PySet_GET_SIZE(s) != n) { /* elements equal in Python */
            Py_DECREF(s);
            return GIVE_UP;
        }
        return s;
    }
    if (tag == TAG_LIST) {
        if (d->p >= d->end || (*d->p >> 5) != 4) return GIVE_UP;
        PyObject *t = item(d, depth, 1);
        if (!t) return NULL;
        PyObject *l = PyObject_CallFunctionObjArgs(EdnList, t, NULL);
        Py_DECREF(t);
        return l;
    }
    if (tag == TAG_SELFDESC) return item(d, depth, key);
    if (tag == 27) { /* ["ns/name", value] -> Tagged(Symbol, value): datoms come this way */
        PyObject *v = item(d, depth, key);
        if (!v) return NULL;
        PyObject *name = NULL, *x = NULL, *r = NULL;
        if ((PyList_CheckExact(v) || PyTuple_CheckExact(v)) && PySequence_Fast_GET_SIZE(v) == 2) {
            name = PySequence_Fast_GET_ITEM(v, 0);
            x = PySequence_Fast_GET_ITEM(v, 1);
        }
        if (name && PyUnicode_CheckExact(name)) {
            PyObject *sym = PyDict_GetItemWithError(TagSyms, name); /* borrowed */
            if (sym) {
                Py_INCREF(sym);
            } else if (!PyErr_Occurred() && (sym = PyObject_CallFunctionObjArgs(Symbol, name, NULL))) {
                if (PyDict_GET_SIZE(TagSyms) < 1024 && PyDict_SetItem(TagSyms, name, sym) < 0) Py_CLEAR(sym);
            }
            if (sym) {
                r = PyObject_CallFunctionObjArgs(Tagged, sym, x, NULL);
                Py_DECREF(sym);
            }
        }
        Py_DECREF(v);
        if (!r) PyErr_Clear(); /* GIVE_UP: cbor.py says what is wrong */
        return r;
    }
    switch (tag) {
    case 1: case 2: case 3: case 4: case 37: case 1001: case 0x44544C02ULL: break;
    default: return GIVE_UP;
    }
    PyObject *v = item(d, depth, key);
    if (!v) return NULL;
    PyObject *r = PyObject_CallFunction(TagHook, "KOn", (unsigned long long)tag, v, (Py_ssize_t)(at - d->start));
    Py_DECREF(v);
    if (!r) PyErr_Clear(); /* GIVE_UP: cbor.py raises the error with its offset */
    return r;
}

static PyObject *item(dec *d, int depth, int key) {
    if (d->p >= d->end) return GIVE_UP;
    const unsigned char *at = d->p;
    unsigned ib = *d->p++, major = ib >> 5, ai = ib & 31;
    uint64_t n;
    if (ai == 31) return GIVE_UP; /* indefinite lengths, break */
    if (major == 7) {
        switch (ai) {
        case 20: Py_RETURN_FALSE;
        case 21: Py_RETURN_TRUE;
        case 22: Py_RETURN_NONE;
        case 25:
            if (d->end - d->p < 2) return GIVE_UP;
            d->p += 2;
            return PyFloat_FromDouble(half((unsigned)d->p[-2] << 8 | d->p[-1]));
        case 26: {
            if (d->end - d->p < 4) return GIVE_UP;
            uint32_t u = (uint32_t)d->p[0] << 24 | (uint32_t)d->p[1] << 16 | (uint32_t)d->p[2] << 8 | d->p[3];
            float f;
            memcpy(&f, &u, 4);
            d->p += 4;
            return PyFloat_FromDouble(f);
        }
        case 27: {
            uint64_t u;
            if (arg(d, 27, &u)) return GIVE_UP;
            double f;
            memcpy(&f, &u, 8);
            return PyFloat_FromDouble(f);
        }
        default: return GIVE_UP;
        }
    }
    if (arg(d, ai, &n)) return GIVE_UP;
    switch (major) {
    case 0: return PyLong_FromUnsignedLongLong(n);
    case 1:
        if (n > (uint64_t)INT64_MAX) return GIVE_UP;
        return PyLong_FromLongLong(-1 - (long long)n);
    case 2:
        if (n > (uint64_t)(d->end - d->p)) return GIVE_UP;
        d->p += n;
        return PyBytes_FromStringAndSize((const char *)d->p - n, (Py_ssize_t)n);
    case 3: {
        if (n > (uint64_t)(d->end - d->p)) return GIVE_UP;
        struct text_slot *sl = NULL;
        if (n <= TEXT_MAX) { /* short text repeats in results (names, values): share one str */
            sl = &Texts[slot_of(d->p, (size_t)n) % TEXTS];
            if (sl->obj && sl->len == n && !memcmp(sl->text, d->p, (size_t)n)) {
                d->p += n;
                Py_INCREF(sl->obj);
                return sl->obj;
            }
        }
        PyObject *s = PyUnicode_DecodeUTF8((const char *)d->p, (Py_ssize_t)n, "strict");
        if (!s) {
            PyErr_Clear();
            return GIVE_UP;
        }
        if (sl) {
            Py_INCREF(s);
            Py_XSETREF(sl->obj, s);
            sl->len = (unsigned char)n;
            memcpy(sl->text, d->p, (size_t)n);
        }
        d->p += n;
        return s;
    }
    case 4:
        if (depth >= MaxDepth) return GIVE_UP;
        return array(d, n, depth, key);
    case 5:
        if (depth >= MaxDepth) return GIVE_UP;
        return map(d, n, depth, key);
    default: /* 6 */
        return tagged(d, n, at, depth, key);
    }
}

static PyObject *py_loads(PyObject *self, PyObject *data) {
    (void)self;
    if (!TagHook) {
        PyErr_SetString(PyExc_RuntimeError, "datalith._cbor_c: configure() was not called");
        return NULL;
    }
    if (!PyBytes_Check(data)) {
        PyErr_SetString(PyExc_TypeError, "datalith._cbor_c.loads takes bytes");
        return NULL;
    }
    dec d;
    d.start = d.p = (const unsigned char *)PyBytes_AS_STRING(data);
    d.end = d.p + PyBytes_GET_SIZE(data);
    PyObject *v = item(&d, 0, 0);
    if (!v) {
        if (PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_MemoryError)) PyErr_Clear();
            else return NULL;
        }
        Py_INCREF(Fallback);
        return Fallback;
    }
    if (d.p != d.end) { /* trailing bytes: cbor.py reports them */
        Py_DECREF(v);
        Py_INCREF(Fallback);
        return Fallback;
    }
    return v;
}

/* ---- encoding: the fast path of cbor.dumps ---- */

/* It writes exactly what cbor._enc writes, for exactly these types: None,
** bool, int within int64, float, str, Keyword, Symbol, list, tuple, dict,
** set, frozenset (exact types, no subclasses).  Anything else — another
** type, a bigint, a string with a lone surrogate, nesting deeper than
** MAX_DEPTH (which includes cycles) — returns the fallback, and cbor.dumps
** runs the Python encoder, which writes it or raises the documented error. */

typedef struct enc {
    unsigned char *p;
    size_t n, cap;
} enc;

static int grow(enc *e, size_t k) {
    if (e->n + k <= e->cap) return 0;
    size_t cap = e->cap ? e->cap : 256;
    while (cap < e->n + k) cap *= 2;
    unsigned char *p = PyMem_Realloc(e->p, cap);
    if (!p) {
        PyErr_NoMemory();
        return -1;
    }
    e->p = p;
    e->cap = cap;
    return 0;
}

static int put_head(enc *e, unsigned major, uint64_t n) {
    if (grow(e, 9)) return -1;
    unsigned char m = (unsigned char)(major << 5), *o = e->p + e->n;
    if (n < 24) {
        o[0] = (unsigned char)(m | n);
        e->n += 1;
    } else if (n < 0x100) {
        o[0] = m | 24, o[1] = (unsigned char)n;
        e->n += 2;
    } else if (n < 0x10000) {
        o[0] = m | 25, o[1] = (unsigned char)(n >> 8), o[2] = (unsigned char)n;
        e->n += 3;
    } else if (n < 0x100000000ULL) {
        o[0] = m | 26;
        for (int i = 0; i < 4; i++) o[1 + i] = (unsigned char)(n >> (24 - 8 * i));
        e->n += 5;
    } else {
        o[0] = m | 27;
        for (int i = 0; i < 8; i++) o[1 + i] = (unsigned char)(n >> (56 - 8 * i));
        e->n += 9;
    }
    return 0;
}

static int put_bytes(enc *e, const void *p, size_t k) {
    if (grow(e, k)) return -1;
    memcpy(e->p + e->n, p, k);
    e->n += k;
    return 0;
}

/* 0 written, -1 error set, 1 give up. */
static int put_text(enc *e, PyObject *s) {
    Py_ssize_t k;
    const char *u = PyUnicode_AsUTF8AndSize(s, &k);
    if (!u) {
        PyErr_Clear();
        return 1;
    }
    if (put_head(e, 3, (uint64_t)k)) return -1;
    return put_bytes(e, u, (size_t)k);
}

static int put(enc *e, PyObject *v, int depth);

static int put_seq(enc *e, PyObject *v, int depth) {
    if (depth >= MaxDepth) return 1;
    PyObject *fast = PySequence_Fast(v, "");
    if (!fast) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    int rc = put_head(e, 4, (uint64_t)n);
    PyObject **items = PySequence_Fast_ITEMS(fast);
    for (Py_ssize_t i = 0; !rc && i < n; i++) rc = put(e, items[i], depth + 1);
    Py_DECREF(fast);
    return rc;
}

static int put(enc *e, PyObject *v, int depth) {
    PyTypeObject *t = Py_TYPE(v);
    if (t == &PyUnicode_Type) return put_text(e, v);
    if (t == &PyLong_Type) {
        int overflow;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow) return 1;
        if (x == -1 && PyErr_Occurred()) return -1;
        return x >= 0 ? put_head(e, 0, (uint64_t)x) : put_head(e, 1, (uint64_t)(-1 - x));
    }
    if (v == Py_None) return put_bytes(e, "\xf6", 1);
    if (t == &PyBool_Type) return put_bytes(e, v == Py_True ? "\xf5" : "\xf4", 1);
    if (t == &PyFloat_Type) {
        double d = PyFloat_AS_DOUBLE(v);
        uint64_t u;
        memcpy(&u, &d, 8);
        if (grow(e, 9)) return -1;
        e->p[e->n++] = 0xFB;
        for (int i = 0; i < 8; i++) e->p[e->n++] = (unsigned char)(u >> (56 - 8 * i));
        return 0;
    }
    if ((PyObject *)t == Keyword || (PyObject *)t == Symbol) {
        if (put_bytes(e, "\xd8\x27", 2)) return -1;
        return put_text(e, v);
    }
    if (t == &PyList_Type || t == &PyTuple_Type) return put_seq(e, v, depth);
    if (t == &PyDict_Type) {
        if (depth >= MaxDepth) return 1;
        if (put_head(e, 5, (uint64_t)PyDict_GET_SIZE(v))) return -1;
        Py_ssize_t pos = 0;
        PyObject *k, *x;
        while (PyDict_Next(v, &pos, &k, &x)) {
            int rc = put(e, k, depth + 1);
            if (!rc) rc = put(e, x, depth + 1);
            if (rc) return rc;
        }
        return 0;
    }
    if (t == &PySet_Type || t == &PyFrozenSet_Type) {
        if (depth >= MaxDepth) return 1;
        if (put_bytes(e, "\xd9\x01\x02", 3) || put_head(e, 4, (uint64_t)PySet_GET_SIZE(v))) return -1;
        PyObject *it = PyObject_GetIter(v), *x;
        if (!it) return -1;
        int rc = 0;
        while (!rc && (x = PyIter_Next(it))) {
            rc = put(e, x, depth + 1);
            Py_DECREF(x);
        }
        Py_DECREF(it);
        if (!rc && PyErr_Occurred()) rc = -1;
        return rc;
    }
    return 1;
}

static PyObject *py_dumps(PyObject *self, PyObject *v) {
    (void)self;
    if (!Fallback) {
        PyErr_SetString(PyExc_RuntimeError, "datalith._cbor_c: configure() was not called");
        return NULL;
    }
    enc e = {NULL, 0, 0};
    int rc = put(&e, v, 0);
    PyObject *r;
    if (rc < 0) {
        r = NULL;
        if (!PyErr_ExceptionMatches(PyExc_MemoryError)) { /* e.g. a dict changed size: Python decides */
            PyErr_Clear();
            Py_INCREF(Fallback);
            r = Fallback;
        }
    } else if (rc > 0) {
        Py_INCREF(Fallback);
        r = Fallback;
    } else {
        r = PyBytes_FromStringAndSize((const char *)e.p, (Py_ssize_t)e.n);
    }
    PyMem_Free(e.p);
    return r;
}

static PyObject *py_configure(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *k, *s, *fm, *el, *tg, *hook, *fb;
    int maxd;
    if (!PyArg_ParseTuple(args, "OOOOOOOi", &k, &s, &fm, &el, &tg, &hook, &fb, &maxd)) return NULL;
    PyObject **slots[] = {&Keyword, &Symbol, &FrozenMap, &EdnList, &Tagged, &TagHook, &Fallback};
    PyObject *vals[] = {k, s, fm, el, tg, hook, fb};
    for (int i = 0; i < 7; i++) {
        Py_INCREF(vals[i]);
        Py_XSETREF(*slots[i], vals[i]);
    }
    MaxDepth = maxd;
    if (!Idents && !(Idents = PyDict_New())) return NULL;
    if (!TagSyms && !(TagSyms = PyDict_New())) return NULL;
    PyDict_Clear(Idents);
    PyDict_Clear(TagSyms);
    for (int i = 0; i < SLOTS; i++) Py_CLEAR(Slots[i].obj);
    for (int i = 0; i < TEXTS; i++) Py_CLEAR(Texts[i].obj);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", py_configure, METH_VARARGS,
     "configure(Keyword, Symbol, FrozenMap, EdnList, Tagged, tag_hook, fallback, max_depth)"},
    {"loads", py_loads, METH_O, "loads(data: bytes) -> the value, or the fallback sentinel"},
    {"dumps", py_dumps, METH_O, "dumps(value) -> CBOR bytes, or the fallback sentinel"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "datalith._cbor_c",
    "The C fast path of datalith.cbor.loads (see datalith/_cbor_c.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cbor_c(void) { return PyModule_Create(&module); }
