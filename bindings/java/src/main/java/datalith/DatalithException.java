package datalith;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * An engine failure.  {@link #getCode()} is the negative status code
 * (include/datalith.h), {@link #getCodeName()} its C name ("DATALITH_EPARSE"),
 * {@link #getEngineMessage()} the engine's message; for parse errors
 * {@link #getLine()} / {@link #getColumn()} (1-based) and {@link #getOffset()}
 * (0-based byte offset) give the position, else 0 / 0 / -1.
 */
public class DatalithException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public static final int ENOMEM = -1, EINVAL = -2, EPARSE = -3, ELIMIT = -4, ETYPE = -5,
            EIO = -6, ECORRUPT = -7, ELOCKED = -8, ENOTFOUND = -9, EEXISTS = -10,
            ESCHEMA = -11, ETX = -12, EQUERY = -13, ECANCELED = -14, EUNSUPPORTED = -15,
            ECONFLICT = -16, EINTERNAL = -17;

    private static final Map<Integer, String> NAMES = Map.ofEntries(
            Map.entry(ENOMEM, "DATALITH_ENOMEM"), Map.entry(EINVAL, "DATALITH_EINVAL"),
            Map.entry(EPARSE, "DATALITH_EPARSE"), Map.entry(ELIMIT, "DATALITH_ELIMIT"),
            Map.entry(ETYPE, "DATALITH_ETYPE"), Map.entry(EIO, "DATALITH_EIO"),
            Map.entry(ECORRUPT, "DATALITH_ECORRUPT"), Map.entry(ELOCKED, "DATALITH_ELOCKED"),
            Map.entry(ENOTFOUND, "DATALITH_ENOTFOUND"), Map.entry(EEXISTS, "DATALITH_EEXISTS"),
            Map.entry(ESCHEMA, "DATALITH_ESCHEMA"), Map.entry(ETX, "DATALITH_ETX"),
            Map.entry(EQUERY, "DATALITH_EQUERY"), Map.entry(ECANCELED, "DATALITH_ECANCELED"),
            Map.entry(EUNSUPPORTED, "DATALITH_EUNSUPPORTED"),
            Map.entry(ECONFLICT, "DATALITH_ECONFLICT"), Map.entry(EINTERNAL, "DATALITH_EINTERNAL"));

    private final int code;
    private final String engineMessage;
    private final long line, column, offset;

    public DatalithException(int code, String message) {
        this(code, message, 0, 0, -1);
    }

    public DatalithException(int code, String message, long line, long column, long offset) {
        super(codeName(code) + ": " + message);
        this.code = code;
        this.engineMessage = message;
        this.line = line;
        this.column = column;
        this.offset = offset;
    }

    /** Called by the JNI glue (datalith_jni.c); the message is UTF-8. */
    static DatalithException fromNative(int code, byte[] message, long line, long column,
                                        long offset) {
        return new DatalithException(code, new String(message, StandardCharsets.UTF_8),
                line, column, offset);
    }

    /** The C name of a status code, e.g. "DATALITH_EPARSE". */
    public static String codeName(int code) {
        return NAMES.getOrDefault(code, "DATALITH_E" + code);
    }

    public int getCode() { return code; }
    public String getCodeName() { return codeName(code); }
    public String getEngineMessage() { return engineMessage; }
    public long getLine() { return line; }
    public long getColumn() { return column; }
    public long getOffset() { return offset; }
}
