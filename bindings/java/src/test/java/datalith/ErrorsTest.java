package datalith;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Every kind of bad input gives a DatalithException with the right code,
 *  its C name and the engine's message, never a crash. */
class ErrorsTest {
    static DatalithException fails(int code, Executable e) {
        DatalithException x = assertThrows(DatalithException.class, e);
        assertEquals(DatalithException.codeName(code), x.getCodeName(), x.getMessage());
        assertEquals(code, x.getCode());
        assertTrue(x.getMessage().startsWith(x.getCodeName() + ": "), x.getMessage());
        assertTrue(!x.getEngineMessage().isEmpty());
        return x;
    }

    @Test
    void parseErrorsHavePositions() {
        DatalithException x = fails(DatalithException.EPARSE, () -> Datalith.edn("[1 2\n  {:a}"));
        assertEquals(2, x.getLine());
        assertTrue(x.getColumn() >= 1);
        assertTrue(x.getOffset() >= 0);
        assertTrue(fails(DatalithException.EPARSE, () -> Datalith.edn("{:a 1 :a 2}"))
                .getEngineMessage().contains(":a"));
        fails(DatalithException.EPARSE, () -> Datalith.edn("1/2"));
        fails(DatalithException.EPARSE, () -> Datalith.edn("\"\u00e9"));
        fails(DatalithException.EPARSE, () -> Datalith.edn(""));
    }

    @Test
    void badCborIsRejectedByTheEngineAndByJava() {
        byte[] truncated = {0x1a, 0x01};
        DatalithException x = fails(DatalithException.EPARSE,
                () -> Datalith.valueConvert(truncated, Datalith.CBOR, Datalith.EDN));
        assertTrue(x.getOffset() >= 0);
        fails(DatalithException.EPARSE, () -> Cbor.decode(truncated));
        fails(DatalithException.EPARSE, () -> Cbor.decode(new byte[] {(byte) 0x9b, -1, -1, -1, -1, -1, -1, -1, -1}));
        fails(DatalithException.EPARSE, () -> Cbor.decode(new byte[] {0x01, 0x02}));
        fails(DatalithException.EPARSE, () -> Cbor.decode(new byte[] {0x62, (byte) 0xc3, 0x28}));
        fails(DatalithException.EPARSE, () -> Cbor.decode(new byte[] {(byte) 0xa2, 0x01, 0x02, 0x01, 0x03}));
        fails(DatalithException.EPARSE, () -> Cbor.decode(new byte[] {(byte) 0xc6, 0x01}));
        fails(DatalithException.EINVAL,
                () -> Datalith.valueConvert(new byte[] {0x01}, 7, Datalith.EDN));
    }

    @Test
    void javaValuesWithoutEdnAreTypeErrors() {
        fails(DatalithException.ETYPE, () -> Cbor.encode(new Object()));
        fails(DatalithException.ETYPE, () -> Cbor.encode(List.of(new StringBuilder("x"))));
        Object deep = null;
        for (int i = 0; i < 600; i++) {
            List<Object> l = new ArrayList<>();
            l.add(deep);
            deep = l;
        }
        Object d = deep;
        fails(DatalithException.ELIMIT, () -> Cbor.encode(d));
        assertThrows(NullPointerException.class, () -> Datalith.valueConvert(null, 0, 0));
        assertThrows(NullPointerException.class, () -> Datalith.db(null));
    }

    @Test
    void lifecycleErrors() {
        Map<Object, Object> cfg = Datalith.memoryConfig();
        fails(DatalithException.ENOTFOUND, () -> Datalith.connect(cfg));
        Datalith.createDatabase(cfg);
        try {
            fails(DatalithException.EEXISTS, () -> Datalith.createDatabase(cfg));
            try (Connection c = Datalith.connect(cfg)) {
                DatalithException x = assertThrows(DatalithException.class,
                        () -> c.transact(Datalith.edn("[{:age 3}]")));
                assertTrue(x.getCode() == DatalithException.ETX || x.getCode() == DatalithException.ESCHEMA,
                        x.getMessage());
                assertTrue(x.getEngineMessage().contains(":age"), x.getEngineMessage());
                fails(DatalithException.ETYPE, () -> c.transact(List.of(new Object())));
                // the connection still works after failures
                c.transact(Datalith.edn("[{:db/ident :age :db/valueType :db.type/long"
                        + " :db/cardinality :db.cardinality/one}]"));
            }
        } finally {
            Datalith.deleteDatabase(cfg);
        }
        fails(DatalithException.EINVAL, () -> Datalith.createDatabase(42L));
        fails(DatalithException.EINVAL, () -> Datalith.createDatabase(Datalith.map(":store", Datalith.map(":backend", Datalith.kw(":nope")))));
    }
}
