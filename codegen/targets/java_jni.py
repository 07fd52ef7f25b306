"""Target java_jni (issue 7): the Java API and its JNI glue.

Will generate bindings/java/src/main/java/datalith/DatalithNative.java
(`static native` methods, one per implemented op, named camelCase with `?`
dropped and `!` -> `Async`, e.g. transact! -> transactAsync; Java reserved
words need an overlay), bindings/java/src/main/java/datalith/Datalith.java
(public static API taking/returning Java values: Map, List, Set, Keyword,
UUID, Instant), and bindings/java/native/datalith_jni_gen.c (JNIEXPORT
functions `Java_datalith_DatalithNative_<name>` converting byte[]/long
handles, throwing datalith.DatalithException with the engine's message).
Handles are long pointers owned by AutoCloseable Connection/Database with a
Cleaner.  Callbacks are not bound yet (a JNI upcall needs a global ref and an
attached thread): an implemented op with a callback is refused until then.
"""

from targets import Target


class JavaJni(Target):
    name = 'java_jni'
    naming = 'java'
    ready = False
    binds = frozenset(["void", "bool", "int", "cstring", "string", "bytes", "format", "value", "handle/conn", "handle/db", "handles/db"])
    design = __doc__


TARGET = JavaJni()
