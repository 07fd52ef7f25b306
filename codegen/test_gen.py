"""Self-tests of the code generator: EDN reader, spec validator, binding
check, name derivation and the check mode.  Standard library only:

    python3 codegen/test_gen.py        (ctest: codegen_selftest)

Expected values are written out by hand from the EDN grammar, the schema in
spec/README.md and the naming rules, not taken from the generator's output.
"""

import io
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import edn  # noqa: E402
import gen  # noqa: E402
import spec as specmod  # noqa: E402
import targets  # noqa: E402
from edn import Keyword as K, Symbol as S  # noqa: E402

ROOT = os.path.dirname(HERE)
SPEC_PATH = os.path.join(ROOT, "spec", "api.edn")


# A minimal valid spec; tests mutate one piece of it at a time.
MINI = """
{:spec-version 1
 :library {:name "t" :version "1.0.0" :c-prefix "datalith_" :c-macro-prefix "DATALITH_"}
 :types {:void {:doc "nothing"}
         :int {:doc "an integer" :c {:in ["int64_t {name}"] :out ["int64_t *{name}"]}}
         :callback/listen {:doc "a callback" :c {:in ["datalith_listen_fn {name}" "void *{name}_ctx"]}}}
 :handles {}
 :formats [{:name :edn :value 0 :doc "EDN"}]
 :errors [{:name :ok :value 0 :doc "success"} {:name :einval :value -2 :doc "bad argument"}]
 :targets {:docs {:enabled? true}}
 :ops [{:name add-one :status :implemented :doc "Add one."
        :args [{:name x :type :int :ownership :borrowed :doc "the input"}]
        :ret {:type :int :ownership :fresh :doc "x + 1"}
        :errors [{:code :einval}]
        :stability :stable :since "1.0.0" :remote? false :pure? true :blocking? false}
       %s]}
"""

LISTEN_OP = """{:name watch :status %s :doc "Watch."
        :args [{:name cb :type :callback/listen :ownership :borrowed :doc "the callback"}]
        :ret {:type :void}
        :errors [{:code :einval}]
        :stability :stable :since "1.0.0" :remote? false :pure? false :blocking? false}"""


def mini(extra=""):
    return MINI % extra


class EdnReaderTest(unittest.TestCase):
    def test_scalars(self):
        self.assertEqual(edn.read_all('nil true false 42 -7 3.5 "a\\nb\\u0041" 12N'),
                         [None, True, False, 42, -7, 3.5, "a\nbA", 12])

    def test_keywords_and_symbols(self):
        k = edn.read(":db/ident")
        self.assertEqual(k, K("db/ident"))
        self.assertEqual((k.namespace, k.name), ("db", "ident"))
        self.assertEqual(edn.read("database-exists?"), S("database-exists?"))
        self.assertEqual(edn.read("transact!"), S("transact!"))
        self.assertNotEqual(K("a"), S("a"))

    def test_collections(self):
        v = edn.read('{:a [1 (2 3)] :b #{:x :y}, "s" {}}')
        self.assertIsInstance(v, edn.Map)
        self.assertEqual(v[K("a")], [1, [2, 3]])
        self.assertIsInstance(v[K("a")], edn.Vector)
        self.assertIsInstance(v[K("a")][1], edn.EdnList)
        self.assertEqual(v[K("b")], frozenset([K("x"), K("y")]))
        self.assertEqual(v["s"], {})

    def test_comments_discard_and_lines(self):
        v = edn.read_all("; comment\n[1 #_2 3]\n\n{:k #_#_ 1 2 :v}")
        self.assertEqual(v, [[1, 3], {K("k"): K("v")}])
        self.assertEqual(v[0].line, 2)
        self.assertEqual(v[1].line, 4)

    def test_chars_and_tags(self):
        v = edn.read('[\\a \\newline #inst "2020-01-01T00:00:00Z" ##Inf]')
        self.assertEqual(v[:2], ["a", "\n"])
        self.assertEqual(v[2], edn.Tagged(S("inst"), "2020-01-01T00:00:00Z"))
        self.assertEqual(v[3], float("inf"))

    def test_vector_as_map_key(self):
        v = edn.read("{[1 2] :x}")
        self.assertEqual(v[(1, 2)], K("x"))

    def test_errors_have_positions(self):
        cases = [("[1 2", "1:1", "unterminated"), ("{:a}", "1:1", "odd number"),
                 ('\n  "abc', "2:3", "unterminated string"), ("]", "1:1", "unmatched"),
                 ("{:a 1 :a 2}", "1:1", "duplicate map key"), ("#{1 1}", "1:1", "duplicate"),
                 ('"\\q"', "1:2", "unknown escape"), ("1.2.3", "1:1", "bad number")]
        for text, pos, words in cases:
            with self.subTest(text=text):
                with self.assertRaises(edn.EdnError) as cm:
                    edn.read(text, "t.edn")
                msg = str(cm.exception)
                self.assertIn("t.edn:" + pos, msg)
                self.assertIn(words, msg)

    def test_deep_nesting_is_an_error(self):
        with self.assertRaises(edn.EdnError):
            edn.read("[" * 1000 + "]" * 1000)

    def test_print_round_trip(self):
        text = '{:a [1 2.5 "x\\"y"], :b #{:k}, :c (f nil true), :d \\space}'
        v = edn.read(text)
        self.assertEqual(edn.read(edn.dumps(v)), v)


class NameTest(unittest.TestCase):
    def test_derivation(self):
        n = specmod.derive_names("database-exists?")
        self.assertEqual(n["c"], "datalith_database_exists")
        self.assertEqual(n["python"], "database_exists")
        self.assertEqual(n["java"], "databaseExists")
        self.assertEqual(n["js"], "databaseExists")
        self.assertEqual(n["pod"], "database-exists?")
        self.assertEqual(n["cli"], "database-exists")
        self.assertEqual(n["http"], "/database-exists")

    def test_bang_async_and_sync(self):
        n = specmod.derive_names("transact!", is_async=True)
        self.assertEqual((n["java"], n["js"], n["python"], n["c"]),
                         ("transactAsync", "transactAsync", "transact_async", "datalith_transact_async"))
        n = specmod.derive_names("branch!", is_async=False)
        self.assertEqual((n["java"], n["python"], n["c"], n["http"]),
                         ("branch", "branch", "datalith_branch", "/branch"))

    def test_spec_overlays(self):
        s = specmod.load(SPEC_PATH)
        self.assertEqual(s.op("transact!").names["java"], "transactAsync")
        self.assertEqual(s.op("with").names["python"], "with_db")
        self.assertEqual(s.op("with").names["js"], "withDb")
        self.assertEqual(s.op("q").names["cli"], "query")
        self.assertEqual(s.op("value-convert").names["c"], "datalith_value_convert")
        self.assertFalse(s.op("connect").in_target("cli"))   # returns a handle
        self.assertFalse(s.op("transact!").in_target("http"))  # not remote
        self.assertEqual(s.op("q").http_method, "GET")
        self.assertEqual(s.op("transact").http_method, "POST")

    def test_reserved_word_needs_overlay(self):
        op = """{:name with :status :planned :doc "W."
                 :args [] :ret {:type :void} :errors []
                 :stability :stable :since "1.0.0" :remote? false :pure? true :blocking? false}"""
        with self.assertRaises(specmod.SpecError) as cm:
            specmod.parse(mini(op), "t.edn")
        self.assertIn("op with", str(cm.exception))
        self.assertIn("reserved word", str(cm.exception))


class ValidatorTest(unittest.TestCase):
    def refused(self, text, *words):
        with self.assertRaises(specmod.SpecError) as cm:
            specmod.parse(text, "t.edn")
        msg = str(cm.exception)
        for w in words:
            self.assertIn(w, msg)
        return msg

    def test_minimal_spec_is_valid(self):
        s = specmod.parse(mini(), "t.edn")
        self.assertEqual([o.name for o in s.ops], ["add-one"])

    def test_missing_doc(self):
        text = mini().replace(':doc "Add one."', "")
        self.refused(text, "op add-one", "missing :doc", "t.edn:")

    def test_unknown_type(self):
        text = mini().replace(":args [{:name x :type :int", ":args [{:name x :type :float")
        self.refused(text, "op add-one", "unknown type :float")

    def test_unknown_key(self):
        text = mini().replace(":pure? true", ":pure? true :colour :blue")
        self.refused(text, "op add-one", "unknown key :colour")

    def test_unknown_error_code(self):
        text = mini().replace("{:code :einval}]\n        :stability", "{:code :eboom}]\n        :stability")
        self.refused(text, "op add-one", "unknown error code :eboom")

    def test_bad_ownership_and_status(self):
        text = mini().replace(":ownership :borrowed", ":ownership :fresh")
        self.refused(text, "arg x", ":ownership of an argument")
        text = mini().replace(":status :implemented", ":status :someday")
        self.refused(text, "op add-one", ":status must be one of")

    def test_edn_error_is_reported(self):
        self.refused(mini()[:-5], "t.edn:", "unterminated")

    def test_real_spec_is_valid(self):
        s = specmod.load(SPEC_PATH)
        impl = sorted(o.name for o in s.ops if o.implemented)
        # The first two operations ever implemented stay implemented.
        self.assertIn("version", impl)
        self.assertIn("value-convert", impl)
        self.assertEqual(s.error("eparse")["value"], -3)
        self.assertEqual(s.error("eparse")["c"], "DATALITH_EPARSE")
        for name in ("database-exists?", "q", "pull", "as-of", "listen", "tempid"):
            self.assertIn(s.op(name).status, ("planned", "implemented"))


class BindingCheckTest(unittest.TestCase):
    def test_implemented_op_a_target_cannot_bind_is_refused(self):
        s = specmod.parse(mini(LISTEN_OP % ":implemented"), "t.edn")

        class NoCallbacks(targets.Target):
            name, ready = "fake", True
            binds = frozenset(["void", "int"])
        problems = targets.check_bindable(s, [NoCallbacks()])
        self.assertEqual(len(problems), 1)
        self.assertIn("op watch", problems[0])
        self.assertIn("fake cannot bind type :callback/listen", problems[0])

    def test_planned_op_is_not_checked(self):
        s = specmod.parse(mini(LISTEN_OP % ":planned"), "t.edn")

        class NoCallbacks(targets.Target):
            name, ready = "fake", True
            binds = frozenset(["void", "int"])
        self.assertEqual(targets.check_bindable(s, [NoCallbacks()]), [])

    def test_skeleton_cannot_be_enabled(self):
        s = specmod.parse(mini(), "t.edn")
        class Skeleton(targets.Target):
            name, ready = "skel", False
        problems = targets.check_bindable(s, [Skeleton()])
        self.assertIn("skeleton", problems[0])

    def test_gen_refuses_with_exit_2(self):
        tmp = tempfile.mkdtemp()
        try:
            os.makedirs(os.path.join(tmp, "spec"))
            with open(os.path.join(tmp, "spec", "api.edn"), "w") as f:
                f.write(mini(LISTEN_OP % ":implemented"))

            class NoCallbacks(targets.Target):
                name, ready = "fake", True
                binds = frozenset(["void", "int"])
            err = io.StringIO()
            rc = gen.run(root=tmp, check=True, out=io.StringIO(), err=err,
                         target_list=[NoCallbacks()])
            self.assertEqual(rc, 2)
            self.assertIn("op watch", err.getvalue())
        finally:
            shutil.rmtree(tmp)


class GenerateTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        for d in ("spec", "include", "docs"):
            os.makedirs(os.path.join(self.tmp, d))
        shutil.copy(SPEC_PATH, os.path.join(self.tmp, "spec", "api.edn"))
        shutil.copy(os.path.join(ROOT, "include", "datalith.h"),
                    os.path.join(self.tmp, "include", "datalith.h"))

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_gen(self, check):
        out, err = io.StringIO(), io.StringIO()
        rc = gen.run(root=self.tmp, check=check, out=out, err=err)
        return rc, out.getvalue(), err.getvalue()

    def test_check_detects_drift_then_write_fixes_it(self):
        rc, out, _ = self.run_gen(check=True)
        self.assertEqual(rc, 1)  # docs/api.md missing in the temp tree
        self.assertIn("+++ b/docs/api.md", out)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "docs", "api.md")))
        self.assertEqual(self.run_gen(check=False)[0], 0)
        self.assertEqual(self.run_gen(check=True)[0], 0)

    def test_header_outside_markers_untouched(self):
        h = os.path.join(self.tmp, "include", "datalith.h")
        with open(h) as f:
            before = f.read()
        edited = before.replace("DATALITH_API const char *datalith_version(void);",
                                "int hand_edit;")
        with open(h, "w") as f:
            f.write(edited)
        rc, out, _ = self.run_gen(check=True)
        self.assertEqual(rc, 1)
        self.assertIn("-int hand_edit;", out)
        self.run_gen(check=False)
        with open(h) as f:
            after = f.read()
        self.assertEqual(after, before)
        self.assertIn("DATALITH_API int datalith_value_convert(const char *in, size_t in_len,", after)
        head, tail = before.split("/* BEGIN GENERATED API")[0], before.split("/* END GENERATED API */")[1]
        self.assertTrue(after.startswith(head) and after.endswith(tail))

    def test_missing_markers_refused(self):
        h = os.path.join(self.tmp, "include", "datalith.h")
        with open(h) as f:
            text = f.read()
        with open(h, "w") as f:
            f.write(text.replace("/* END GENERATED API */", ""))
        rc, _, err = self.run_gen(check=True)
        self.assertEqual(rc, 2)
        self.assertIn("END GENERATED API", err)

    def test_enum_disagreement_refused(self):
        h = os.path.join(self.tmp, "include", "datalith.h")
        with open(h) as f:
            text = f.read()
        with open(h, "w") as f:
            f.write(text.replace("DATALITH_EPARSE = -3", "DATALITH_EPARSE = -30"))
        rc, _, err = self.run_gen(check=True)
        self.assertEqual(rc, 2)
        self.assertIn("datalith_status disagrees", err)
        self.assertIn("DATALITH_EPARSE", err)

    def test_docs_mark_planned_ops(self):
        self.run_gen(check=False)
        with open(os.path.join(self.tmp, "docs", "api.md")) as f:
            doc = f.read()
        self.assertTrue(doc.startswith("<!-- generated by codegen/gen.py from spec/api.edn"))
        s = specmod.load(SPEC_PATH)
        planned = [o.name for o in s.ops if not o.implemented]
        implemented = [o.name for o in s.ops if o.implemented]
        for name in planned:
            self.assertIn("### `%s` (planned)" % name, doc)
        for name in implemented:
            self.assertIn("### `%s`\n" % name, doc)
        self.assertIn("### `value-convert`\n", doc)
        self.assertIn("`databaseExists`", doc)
        self.assertIn("`DATALITH_EPARSE` | -3 |", doc)


# A spec with snapshot handles for the c_dispatch target.
DISPATCH_MINI = """
{:spec-version 1
 :library {:name "t" :version "1.0.0" :c-prefix "datalith_" :c-macro-prefix "DATALITH_"}
 :types {:void {:doc "nothing"}
         :bool {:doc "a truth value" :c {:in ["int {name}"] :out ["int *{name}"]}}
         :format {:doc "a format" :c {:in ["int {name}"]}}
         :value {:doc "a value" :c {:in ["const char *{name}" "size_t {name}_len"] :out ["char **{name}" "size_t *{name}_len"]}}
         :handle/db {:doc "a snapshot" :c {:in ["datalith_db *{name}"] :out ["datalith_db **{name}"]}}}
 :handles {}
 :formats [{:name :edn :value 0 :doc "EDN"} {:name :json :value 1 :doc "JSON"}]
 :errors [{:name :ok :value 0 :doc "success"} {:name :einval :value -2 :doc "bad argument"}]
 :targets {:c_dispatch {:enabled? true}}
 :ops [%s]}
"""

DISPATCH_OP = """{:name %s :status %s :doc "An op."
        :args [%s]
        :ret {:type %s :ownership :fresh}
        :errors [{:code :einval}]
        %s
        :stability :stable :since "1.0.0" :remote? %s :pure? true :blocking? false}"""

DB_ARG = '{:name db :type :handle/db :ownership :borrowed :doc "the snapshot"}'
X_ARG = '{:name x :type :value :ownership :borrowed :doc "a value"}'
FMT_ARG = '{:name fmt :type :format :ownership :borrowed :doc "the format"}'


def dispatch_op(name, args, ret=":value", status=":implemented", remote="true", extra=""):
    return DISPATCH_OP % (name, status, " ".join(args), ret, extra, remote)


def c_dispatch_files(spec):
    t = targets.load("c_dispatch")
    return {f.path: f.text for f in t.generate(spec)}


def _squash(text):
    return " ".join(text.split()).replace("( ", "(").replace(" )", ")")


class DispatchTest(unittest.TestCase):
    """The c_dispatch target: core/api/dispatch_gen.c and impl_gen.h."""

    def test_one_entry_point_per_implemented_op_with_the_header_signature(self):
        s = specmod.load(SPEC_PATH)
        files = c_dispatch_files(s)
        c, h = files["core/api/dispatch_gen.c"], files["core/api/impl_gen.h"]
        self.assertIn("do not edit", c.split("*/")[0])
        with open(os.path.join(ROOT, "include", "datalith.h")) as f:
            header = f.read()
        defs = {}
        for m in __import__("re").finditer(r"DATALITH_API ([^;{]*?)\b(datalith_\w+)\(([^)]*)\) \{", c):
            self.assertNotIn(m.group(2), defs, "defined twice")
            defs[m.group(2)] = _squash("%s%s(%s)" % (m.group(1), m.group(2), m.group(3)))
        want = [o for o in s.ops if o.implemented and o.fallible]
        self.assertEqual(sorted(defs), sorted(o.names["c"] for o in want))
        self.assertGreater(len(want), 20)
        for o in want:
            name = o.names["c"]
            # the declaration in include/datalith.h, as written there
            m = __import__("re").search(r"DATALITH_API ([^;{]*?)\b%s\(([^)]*)\);" % name, header)
            self.assertIsNotNone(m, name)
            self.assertEqual(defs[name], _squash("%s%s(%s)" % (m.group(1), name, m.group(2))))
            body = c.split(defs[name].split("(")[0].split()[-1] + "(", 1)[1].split("\n}\n", 1)[0]
            self.assertIn("dl_err_clear();", body, name)
            impl = "dl_impl_" + name[len("datalith_"):]
            self.assertIn("return %s(" % impl, body, name)
            self.assertIn("\n%s(" % impl.replace("dl_impl", "int dl_impl"), "\n" + h, name)
        # infallible ops stay hand-written
        for name in ("datalith_version", "datalith_conn_release", "datalith_db_release"):
            self.assertNotIn(name + "(", c)

    def test_checks_and_forwarding_follow_the_types(self):
        ops = ", ".join([
            dispatch_op("peek", [DB_ARG, X_ARG, FMT_ARG]),
            dispatch_op("view-of", [DB_ARG, X_ARG, FMT_ARG], ret=":handle/db"),
            dispatch_op("probe", [DB_ARG, FMT_ARG], remote="false",
                        extra=":dispatch {:remote :unsupported}"),
            dispatch_op("plain", [X_ARG, FMT_ARG], remote="false"),
        ])
        c = c_dispatch_files(specmod.parse(DISPATCH_MINI % ops))["core/api/dispatch_gen.c"]
        peek = _squash(c.split("datalith_peek(")[1].split("\n}")[0])
        self.assertIn('if (!db) return dl_err_set(DATALITH_EINVAL, "NULL snapshot");', peek)
        self.assertIn('if (!out) return dl_err_set(DATALITH_EINVAL, "NULL output pointer");', peek)
        self.assertIn('if (DL_REMOTE_HANDLE(db)) /* core/remote */ return dl_rpeer_forward('
                      '"peek", db, 1, &x, &x_len, fmt, out, out_len);', peek)
        self.assertIn("return dl_impl_peek(db, x, x_len, fmt, out, out_len);", peek)
        view = _squash(c.split("datalith_view_of(")[1].split("\n}")[0])
        self.assertIn('if (!db || !out) return dl_err_set(DATALITH_EINVAL, "NULL argument");', view)
        self.assertIn('return dl_rpeer_view("view-of", db, x, x_len, fmt, out);', view)
        probe = _squash(c.split("datalith_probe(")[1].split("\n}")[0])
        self.assertIn('return dl_rpeer_unsupported("probe");', probe)
        self.assertIn('if (fmt != DATALITH_FORMAT_EDN && fmt != DATALITH_FORMAT_JSON) '
                      'return dl_err_set(DATALITH_EINVAL, "unknown format %d", fmt);', probe)
        plain = _squash(c.split("datalith_plain(")[1].split("\n}")[0])
        self.assertNotIn("DL_REMOTE_HANDLE", plain)
        self.assertNotIn("unknown format", plain)  # decoding `x` checks the format

    def test_planned_op_generates_nothing(self):
        ops = ", ".join([dispatch_op("peek", [DB_ARG, X_ARG, FMT_ARG]),
                         dispatch_op("later", [DB_ARG, X_ARG, FMT_ARG], status=":planned")])
        files = c_dispatch_files(specmod.parse(DISPATCH_MINI % ops))
        self.assertIn("datalith_peek(", files["core/api/dispatch_gen.c"])
        for text in files.values():
            self.assertNotIn("later", text)
        # in the real spec too
        s = specmod.load(SPEC_PATH)
        c = "\n".join(c_dispatch_files(s).values())
        planned = [o for o in s.ops if not o.implemented]
        self.assertTrue(planned)
        for o in planned:
            self.assertNotIn(o.names["c"] + "(", c)
            self.assertNotIn("dl_impl_" + o.names["c"][len("datalith_"):] + "(", c)

    def run_mini(self, ops):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        os.makedirs(os.path.join(tmp, "spec"))
        path = os.path.join(tmp, "spec", "api.edn")
        with open(path, "w") as f:
            f.write(DISPATCH_MINI % ops)
        out, err = io.StringIO(), io.StringIO()
        rc = gen.run(root=tmp, spec_path=path, check=True, out=out, err=err)
        return rc, err.getvalue(), tmp

    def test_refuses_a_handle_op_it_cannot_dispatch(self):
        # a snapshot op that is not :remote? and does not say how a remote
        # handle is handled
        rc, err, tmp = self.run_mini(dispatch_op("peek", [DB_ARG, X_ARG, FMT_ARG], remote="false"))
        self.assertEqual(rc, 2)
        self.assertIn("op peek: target c_dispatch", err)
        self.assertIn(":dispatch {:remote", err)
        self.assertFalse(os.path.exists(os.path.join(tmp, "core")))
        # a remote op whose signature has no generic forwarding (two handles)
        two = '{:name db2 :type :handle/db :ownership :borrowed :doc "another"}'
        rc, err, _ = self.run_mini(dispatch_op("pair", [DB_ARG, two, FMT_ARG]))
        self.assertEqual(rc, 2)
        self.assertIn("op pair: target c_dispatch: no generic remote forwarding", err)
        # :remote :peer on an op without a handle
        rc, err, _ = self.run_mini(dispatch_op("solo", [X_ARG, FMT_ARG],
                                               extra=":dispatch {:remote :peer}"))
        self.assertEqual(rc, 2)
        self.assertIn("op solo: target c_dispatch: :dispatch :remote :peer", err)

    def test_dispatch_key_is_validated(self):
        with self.assertRaises(specmod.SpecError) as cm:
            specmod.parse(DISPATCH_MINI % dispatch_op(
                "peek", [DB_ARG, X_ARG, FMT_ARG], extra=":dispatch {:remote :sometimes}"))
        self.assertIn(":dispatch :remote must be one of", str(cm.exception))
        with self.assertRaises(specmod.SpecError) as cm:
            specmod.parse(DISPATCH_MINI % dispatch_op(
                "peek", [DB_ARG, X_ARG, FMT_ARG], extra=":dispatch {:remote :custom :colour 1}"))
        self.assertIn(":dispatch: unknown key :colour", str(cm.exception))

    def test_check_covers_the_dispatch(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        for d in ("spec", "include"):
            os.makedirs(os.path.join(tmp, d))
        shutil.copy(SPEC_PATH, os.path.join(tmp, "spec", "api.edn"))
        shutil.copy(os.path.join(ROOT, "include", "datalith.h"), os.path.join(tmp, "include"))
        out, err = io.StringIO(), io.StringIO()
        self.assertEqual(gen.run(root=tmp, check=False, out=out, err=err), 0)
        self.assertEqual(gen.run(root=tmp, check=True, out=out, err=err), 0)
        p = os.path.join(tmp, "core", "api", "dispatch_gen.c")
        with open(p) as f:
            text = f.read()
        with open(p, "w") as f:
            f.write(text.replace("dl_err_clear();", "/* hand edit */", 1))
        out = io.StringIO()
        self.assertEqual(gen.run(root=tmp, check=True, out=out, err=err), 1)
        self.assertIn("--- a/core/api/dispatch_gen.c", out.getvalue())
        self.assertIn("-    /* hand edit */", out.getvalue())
        # and the committed file is what the spec produces
        with open(os.path.join(ROOT, "core", "api", "dispatch_gen.c")) as f:
            self.assertEqual(f.read(), c_dispatch_files(specmod.load(SPEC_PATH))[
                "core/api/dispatch_gen.c"])


if __name__ == "__main__":
    unittest.main()
