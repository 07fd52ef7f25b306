package datalith;

import java.nio.charset.StandardCharsets;

/** Argument checks shared by the generated code. */
final class Support {
    private Support() {}

    static void requireNonNull(Object x, String what) {
        if (x == null) throw new NullPointerException(what + " is null");
    }

    /** UTF-8 bytes of s; a NUL in a C string argument is refused. */
    static byte[] utf8(String s, String what, boolean cstring) {
        requireNonNull(s, what);
        if (cstring && s.indexOf('\0') >= 0)
            throw new DatalithException(DatalithException.EINVAL, what + " contains a NUL character");
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
