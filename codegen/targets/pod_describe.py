"""Target pod_describe (issue 7): the Babashka pod's vars and dispatch.

Generates bindings/pod/vars_gen.h and bindings/pod/vars_gen.c: one var per
implemented op (namespace from the spec's :targets :pod_describe
:namespace, default "datalith.pod"), named exactly as the spec name
(database-exists?, transact, release-db ...), each with

  meta    the EDN string the describe reply carries: {:doc "..." :arglists
          ([conn tx])}, from :doc and :args
  call    a uniform call thunk (shared with cli_table): :format arguments
          get the pod's format (EDN); handle arguments are resolved by
          bindings/pod/pod.c from opaque string ids "conn:<n>" / "db:<n>"
          held in a pod-side table; handle results are registered there

plus POD_CLIENT_CODE, Clojure evaluated client-side: the `with-db` macro
(binds a db id, releases it with the handle's :release op in a finally),
as in Datahike's pod.  A pod cannot call back into the client
synchronously, so callback types are not bindable.
"""

from targets import Target, File, BANNER
from targets.cli_table import KINDS, call_types, thunks, user_args, c_string


def _edn_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def var_meta(op):
    """{:doc ... :arglists (...)}; an op taking :handles/db reads its dbs and
    the remaining inputs from the rest of the args, as Datahike's q does."""
    names = []
    for a in user_args(op):
        if a.type == "handles/db":
            names += ["&", "args"]
            break
        names.append(a.name)
    return "{:doc %s :arglists ([%s])}" % (_edn_str(op.doc), " ".join(names))


def client_code(spec, ns):
    rel = spec.handles["handle/db"]["release"]
    return ("(defmacro with-db\n"
            "  \"(with-db [db (db conn)] body...): binds a db id and releases it when\n"
            "  the body is done, also on an exception.\"\n"
            "  [[sym expr] & body]\n"
            "  `(let [~sym ~expr]\n"
            "     (try ~@body (finally (%s/%s ~sym)))))" % (ns, rel))


class PodDescribe(Target):
    name = 'pod_describe'
    naming = 'pod'
    ready = True
    binds = frozenset(KINDS)
    design = __doc__

    def generate(self, spec):
        ns = spec.targets.get("pod_describe", {}).get("namespace", "datalith.pod")
        ops = [o for o in spec.ops if o.implemented and o.in_target("pod")]
        h = ["/* vars_gen.h -- the datalith pod's vars (%s). */" % BANNER,
             "#ifndef DATALITH_POD_VARS_GEN_H",
             "#define DATALITH_POD_VARS_GEN_H", "",
             "#include \"datalith.h\"", "",
             "#include <stddef.h>",
             "#include <stdint.h>", "",
             call_types("pod"), "",
             "#define POD_NAMESPACE %s" % c_string(ns),
             "/* The :release op of each handle type (spec :handles). */",
             "#define POD_RELEASE_CONN %s" % c_string(str(spec.handles["handle/conn"]["release"])),
             "#define POD_RELEASE_DB %s" % c_string(str(spec.handles["handle/db"]["release"])), "",
             "extern const pod_op pod_ops[];",
             "extern const size_t pod_op_count;",
             "/* Per var, the describe reply's \"meta\" (EDN), parallel to pod_ops. */",
             "extern const char *const pod_var_meta[];",
             "/* Clojure the client evaluates: the with-db macro. */",
             "extern const char pod_client_code[];", "",
             "#endif", ""]
        c = ["/* vars_gen.c -- the datalith pod's vars and their calls (%s). */" % BANNER,
             "#include \"vars_gen.h\"", "",
             thunks(spec, ops, "pod", "pod"), "",
             "const char *const pod_var_meta[] = {"]
        c += ["    %s," % c_string(var_meta(o)) for o in ops]
        c += ["};", "",
              "const char pod_client_code[] =",
              "\n".join("    %s" % c_string(l + "\n") for l in client_code(spec, ns).split("\n"))
              + ";", ""]
        return [File("bindings/pod/vars_gen.h", "\n".join(h)),
                File("bindings/pod/vars_gen.c", "\n".join(c))]


TARGET = PodDescribe()
