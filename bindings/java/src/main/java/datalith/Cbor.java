package datalith;

import java.io.ByteArrayOutputStream;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * The CBOR encoding of values at the engine boundary (docs/values.md, "CBOR").
 *
 * <pre>
 *   Java                         CBOR                         EDN
 *   null / Boolean               simple 22 / 20, 21           nil true false
 *   Long Integer Short Byte      major 0/1                    42
 *   BigInteger                   tag 2/3 bignum (always)      42N
 *   Double Float                 float64                      1.5
 *   BigDecimal                   tag 4 [exp, mantissa]        1.50M
 *   String / byte[]              major 3 / major 2            "a" / #bytes
 *   Keyword / Symbol             tag 39 ":ns/n" / "ns/n"      :ns/n / ns/n
 *   UUID                         tag 37, 16 bytes             #uuid
 *   java.util.Date (Instant in)  tag 1 seconds | tag 1001     #inst
 *   Character                    tag 0x44544C02 code point    \a
 *   List, Object[] / EdnList     major 4 / tag 0x44544C01     [..] / (..)
 *   Set / Map                    tag 258 array / major 5      #{..} / {..}
 *   Tagged                       tag 27 ["ns/name", value]    #ns/name v
 * </pre>
 *
 * Decoding gives: Long (BigInteger beyond int64 and for every bignum),
 * Double, BigDecimal, String, byte[], Keyword, Symbol, UUID, Date,
 * Character, ArrayList (vectors), EdnList (lists), LinkedHashSet,
 * LinkedHashMap (engine order), Tagged.  Insts are java.util.Date, as in
 * Datahike's Java API; an Instant is accepted on input (truncated to ms).
 * Malformed input throws DatalithException EPARSE ("... at byte N");
 * nesting deeper than 512 throws ELIMIT; a Java value with no EDN
 * counterpart throws ETYPE.
 */
public final class Cbor {
    private Cbor() {}

    static final int MAX_DEPTH = 512;
    static final long TAG_LIST = 0x44544C01L, TAG_CHAR = 0x44544C02L;

    // ------------------------------------------------------------- encoding

    public static byte[] encode(Object v) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(64);
        write(out, v, 0);
        return out.toByteArray();
    }

    private static void head(ByteArrayOutputStream out, int major, long n) {
        int m = major << 5;
        if (n >= 0 && n < 24) {
            out.write(m | (int) n);
        } else if (n >= 0 && n < 0x100) {
            out.write(m | 24);
            out.write((int) n);
        } else if (n >= 0 && n < 0x10000) {
            out.write(m | 25);
            out.write((int) (n >> 8));
            out.write((int) n);
        } else if (n >= 0 && n < 0x100000000L) {
            out.write(m | 26);
            for (int s = 24; s >= 0; s -= 8) out.write((int) (n >> s));
        } else {
            out.write(m | 27);
            for (int s = 56; s >= 0; s -= 8) out.write((int) (n >>> s));
        }
    }

    private static void text(ByteArrayOutputStream out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        head(out, 3, b.length);
        out.write(b, 0, b.length);
    }

    private static void bignum(ByteArrayOutputStream out, BigInteger b) {
        boolean neg = b.signum() < 0;
        BigInteger mag = neg ? b.negate().subtract(BigInteger.ONE) : b;
        byte[] bytes = mag.toByteArray();
        int off = bytes.length > 1 && bytes[0] == 0 ? 1 : 0;
        if (mag.signum() == 0) { bytes = new byte[0]; off = 0; }
        head(out, 6, neg ? 3 : 2);
        head(out, 2, bytes.length - off);
        out.write(bytes, off, bytes.length - off);
    }

    private static void integer(ByteArrayOutputStream out, BigInteger b) {
        if (b.bitLength() < 64) {
            long n = b.longValue();
            if (n >= 0) head(out, 0, n); else head(out, 1, -1 - n);
        } else {
            bignum(out, b);
        }
    }

    private static void write(ByteArrayOutputStream out, Object v, int depth) {
        if (depth > MAX_DEPTH)
            throw new DatalithException(DatalithException.ELIMIT, "nesting deeper than " + MAX_DEPTH);
        if (v == null) {
            out.write(0xf6);
        } else if (v instanceof Boolean) {
            out.write((Boolean) v ? 0xf5 : 0xf4);
        } else if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
            long n = ((Number) v).longValue();
            if (n >= 0) head(out, 0, n); else head(out, 1, -1 - n);
        } else if (v instanceof BigInteger) {
            bignum(out, (BigInteger) v);
        } else if (v instanceof Double || v instanceof Float) {
            long bits = Double.doubleToLongBits(((Number) v).doubleValue());
            out.write(0xfb);
            for (int s = 56; s >= 0; s -= 8) out.write((int) (bits >>> s));
        } else if (v instanceof BigDecimal) {
            BigDecimal d = (BigDecimal) v;
            head(out, 6, 4);
            head(out, 4, 2);
            long exp = -(long) d.scale();
            if (exp >= 0) head(out, 0, exp); else head(out, 1, -1 - exp);
            integer(out, d.unscaledValue());
        } else if (v instanceof String) {
            text(out, (String) v);
        } else if (v instanceof byte[]) {
            byte[] b = (byte[]) v;
            head(out, 2, b.length);
            out.write(b, 0, b.length);
        } else if (v instanceof Keyword) {
            head(out, 6, 39);
            text(out, v.toString());
        } else if (v instanceof Symbol) {
            head(out, 6, 39);
            text(out, v.toString());
        } else if (v instanceof UUID) {
            UUID u = (UUID) v;
            head(out, 6, 37);
            head(out, 2, 16);
            for (long half : new long[] {u.getMostSignificantBits(), u.getLeastSignificantBits()})
                for (int s = 56; s >= 0; s -= 8) out.write((int) (half >>> s));
        } else if (v instanceof Date || v instanceof Instant) {
            long ms = v instanceof Date ? ((Date) v).getTime() : ((Instant) v).toEpochMilli();
            long s = Math.floorDiv(ms, 1000L), frac = Math.floorMod(ms, 1000L);
            if (frac == 0) {
                head(out, 6, 1);
                if (s >= 0) head(out, 0, s); else head(out, 1, -1 - s);
            } else {
                head(out, 6, 1001);
                head(out, 5, 2);
                head(out, 0, 1);
                if (s >= 0) head(out, 0, s); else head(out, 1, -1 - s);
                head(out, 1, 2); // key -3
                head(out, 0, frac);
            }
        } else if (v instanceof Character) {
            head(out, 6, TAG_CHAR);
            head(out, 0, (Character) v);
        } else if (v instanceof EdnList) {
            head(out, 6, TAG_LIST);
            items(out, (Collection<?>) v, depth);
        } else if (v instanceof List) {
            items(out, (Collection<?>) v, depth);
        } else if (v instanceof Object[]) {
            items(out, java.util.Arrays.asList((Object[]) v), depth);
        } else if (v instanceof Set) {
            head(out, 6, 258);
            items(out, (Collection<?>) v, depth);
        } else if (v instanceof Map) {
            Map<?, ?> m = (Map<?, ?>) v;
            head(out, 5, m.size());
            for (Map.Entry<?, ?> e : m.entrySet()) {
                write(out, e.getKey(), depth + 1);
                write(out, e.getValue(), depth + 1);
            }
        } else if (v instanceof Tagged) {
            head(out, 6, 27);
            head(out, 4, 2);
            text(out, ((Tagged) v).getTag());
            write(out, ((Tagged) v).getValue(), depth + 1);
        } else {
            throw new DatalithException(DatalithException.ETYPE,
                    "no EDN value for a Java " + v.getClass().getName());
        }
    }

    private static void items(ByteArrayOutputStream out, Collection<?> c, int depth) {
        head(out, 4, c.size());
        int n = 0;
        for (Object x : c) {
            write(out, x, depth + 1);
            n++;
        }
        if (n != c.size())
            throw new DatalithException(DatalithException.EINVAL, "collection changed while encoding");
    }

    // ------------------------------------------------------------- decoding

    public static Object decode(byte[] b) {
        if (b == null) throw new NullPointerException("cbor bytes");
        Reader r = new Reader(b);
        Object v = r.item(0);
        if (r.pos != b.length) throw r.err("trailing bytes");
        return v;
    }

    private static final Object BREAK = new Object();

    private static final class Reader {
        final byte[] b;
        int pos;

        Reader(byte[] b) { this.b = b; }

        DatalithException err(String what) {
            return new DatalithException(DatalithException.EPARSE,
                    "CBOR: " + what + " at byte " + pos, 0, 0, pos);
        }

        int u8() {
            if (pos >= b.length) throw err("truncated input");
            return b[pos++] & 0xff;
        }

        long arg(int ai) {
            if (ai < 24) return ai;
            int n;
            switch (ai) {
                case 24: n = 1; break;
                case 25: n = 2; break;
                case 26: n = 4; break;
                case 27: n = 8; break;
                default: throw err("reserved additional information " + ai);
            }
            long v = 0;
            for (int i = 0; i < n; i++) v = (v << 8) | u8();
            return v;
        }

        int len(long n) {
            if (n < 0 || n > b.length - pos) throw err("length " + Long.toUnsignedString(n) + " runs past the input");
            return (int) n;
        }

        byte[] bytes(int ai, int major) {
            if (ai == 31) {
                ByteArrayOutputStream acc = new ByteArrayOutputStream();
                for (;;) {
                    int ib = u8();
                    if (ib == 0xff) return acc.toByteArray();
                    if (ib >> 5 != major || (ib & 31) == 31) throw err("bad chunk in an indefinite string");
                    byte[] c = bytes(ib & 31, major);
                    acc.write(c, 0, c.length);
                }
            }
            int n = len(arg(ai));
            byte[] out = java.util.Arrays.copyOfRange(b, pos, pos + n);
            pos += n;
            return out;
        }

        String text(int ai) {
            int at = pos;
            byte[] raw = bytes(ai, 3);
            try {
                return StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(raw)).toString();
            } catch (CharacterCodingException e) {
                pos = at;
                throw err("invalid UTF-8 in text");
            }
        }

        Object item(int depth) {
            if (depth > MAX_DEPTH)
                throw new DatalithException(DatalithException.ELIMIT, "nesting deeper than " + MAX_DEPTH);
            int ib = u8();
            int major = ib >> 5, ai = ib & 31;
            switch (major) {
                case 0: {
                    long n = arg(ai);
                    return n >= 0 ? (Object) n : new BigInteger(Long.toUnsignedString(n));
                }
                case 1: {
                    long n = arg(ai);
                    if (n >= 0) return -1 - n;
                    return new BigInteger(Long.toUnsignedString(n)).negate().subtract(BigInteger.ONE);
                }
                case 2: return bytes(ai, 2);
                case 3: return text(ai);
                case 4: {
                    ArrayList<Object> l = new ArrayList<>();
                    seq(ai, depth, l);
                    return l;
                }
                case 5: {
                    LinkedHashMap<Object, Object> m = new LinkedHashMap<>();
                    boolean indef = ai == 31;
                    long n = indef ? Long.MAX_VALUE : arg(ai);
                    if (!indef) len(n);
                    for (long i = 0; i < n; i++) {
                        int at = pos;
                        Object k = item(depth + 1);
                        if (k == BREAK) {
                            if (indef) break;
                            throw err("unexpected break");
                        }
                        Object v = item(depth + 1);
                        if (v == BREAK) throw err("unexpected break");
                        if (m.containsKey(k)) {
                            pos = at;
                            throw err("duplicate map key");
                        }
                        m.put(k, v);
                    }
                    return m;
                }
                case 6: return tag(arg(ai), depth);
                default: return simple(ai);
            }
        }

        void seq(int ai, int depth, List<Object> into) {
            boolean indef = ai == 31;
            long n = indef ? Long.MAX_VALUE : arg(ai);
            if (!indef) len(n);
            for (long i = 0; i < n; i++) {
                Object x = item(depth + 1);
                if (x == BREAK) {
                    if (indef) return;
                    throw err("unexpected break");
                }
                into.add(x);
            }
        }

        Object simple(int ai) {
            switch (ai) {
                case 20: return Boolean.FALSE;
                case 21: return Boolean.TRUE;
                case 22: return null;
                case 25: {
                    int h = (u8() << 8) | u8();
                    return (double) halfToFloat(h);
                }
                case 26: return (double) Float.intBitsToFloat((int) arg(26));
                case 27: return Double.longBitsToDouble(arg(27));
                case 31: return BREAK;
                default: pos--; throw err("unsupported simple value " + ai);
            }
        }

        Object expectArray(int depth) {
            Object x = item(depth + 1);
            if (!(x instanceof List)) throw err("tag payload must be an array");
            return x;
        }

        Object tag(long t, int depth) {
            int at = pos;
            if (t == 2 || t == 3) {
                int ib = u8();
                if (ib >> 5 != 2) { pos = at; throw err("bignum payload must be a byte string"); }
                BigInteger mag = new BigInteger(1, bytes(ib & 31, 2));
                return t == 2 ? mag : mag.negate().subtract(BigInteger.ONE);
            }
            if (t == 4) {
                List<?> l = (List<?>) expectArray(depth);
                if (l.size() != 2 || !(l.get(0) instanceof Long)
                        || !(l.get(1) instanceof Long || l.get(1) instanceof BigInteger)) {
                    pos = at;
                    throw err("decimal fraction must be [exponent, mantissa]");
                }
                BigInteger mant = l.get(1) instanceof Long ? BigInteger.valueOf((Long) l.get(1))
                                                          : (BigInteger) l.get(1);
                long exp = (Long) l.get(0);
                if (exp > Integer.MAX_VALUE || exp < -(long) Integer.MAX_VALUE) throw err("exponent out of range");
                return new BigDecimal(mant, (int) -exp);
            }
            if (t == 39) {
                Object x = item(depth + 1);
                if (!(x instanceof String) || ((String) x).isEmpty()) { pos = at; throw err("tag 39 needs a non-empty text"); }
                String s = (String) x;
                return s.startsWith(":") ? Keyword.of(s) : Symbol.of(s);
            }
            if (t == 37) {
                Object x = item(depth + 1);
                if (!(x instanceof byte[]) || ((byte[]) x).length != 16) { pos = at; throw err("uuid needs 16 bytes"); }
                byte[] u = (byte[]) x;
                long hi = 0, lo = 0;
                for (int i = 0; i < 8; i++) hi = (hi << 8) | (u[i] & 0xff);
                for (int i = 8; i < 16; i++) lo = (lo << 8) | (u[i] & 0xff);
                return new UUID(hi, lo);
            }
            if (t == 1) {
                Object x = item(depth + 1);
                if (x instanceof Long) return new Date(Math.multiplyExact((Long) x, 1000L));
                if (x instanceof Double) return new Date(Math.round((Double) x * 1000.0));
                pos = at;
                throw err("tag 1 needs a number");
            }
            if (t == 1001) {
                Object x = item(depth + 1);
                if (!(x instanceof Map)) { pos = at; throw err("tag 1001 needs a map"); }
                Map<?, ?> m = (Map<?, ?>) x;
                Object s = m.get(1L);
                if (!(s instanceof Long)) { pos = at; throw err("tag 1001 needs key 1"); }
                long ms = Math.multiplyExact((Long) s, 1000L);
                if (m.get(-3L) instanceof Long) ms += (Long) m.get(-3L);
                else if (m.get(-6L) instanceof Long) ms += (Long) m.get(-6L) / 1000;
                else if (m.get(-9L) instanceof Long) ms += (Long) m.get(-9L) / 1000000;
                return new Date(ms);
            }
            if (t == 258) {
                List<?> l = (List<?>) expectArray(depth);
                LinkedHashSet<Object> s = new LinkedHashSet<>(l);
                if (s.size() != l.size()) { pos = at; throw err("duplicate set element"); }
                return s;
            }
            if (t == TAG_LIST) return new EdnList((List<?>) expectArray(depth));
            if (t == TAG_CHAR) {
                Object x = item(depth + 1);
                if (!(x instanceof Long) || (Long) x > 0xFFFF || (Long) x < 0) {
                    if (x instanceof Long && (Long) x <= 0x10FFFF && (Long) x >= 0)
                        return new String(Character.toChars((int) (long) (Long) x));
                    pos = at;
                    throw err("char needs a code point");
                }
                return (char) (long) (Long) x;
            }
            if (t == 27) {
                List<?> l = (List<?>) expectArray(depth);
                if (l.size() != 2 || !(l.get(0) instanceof String)) { pos = at; throw err("tag 27 needs [\"tag\", value]"); }
                return new Tagged((String) l.get(0), l.get(1));
            }
            if (t == 55799) return item(depth + 1);
            pos = at;
            throw err("unsupported tag " + Long.toUnsignedString(t));
        }
    }

    static float halfToFloat(int h) {
        int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
        float v;
        if (exp == 0) v = (float) (mant * Math.pow(2, -24));
        else if (exp == 31) v = mant == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
        else v = (float) ((1 + mant / 1024.0) * Math.pow(2, exp - 15));
        return sign == 1 ? -v : v;
    }
}
