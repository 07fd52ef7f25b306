"""tests/scaleout/reader.py — the Python reader of the scale-out tests.

The same behaviour and output as reader.c (read its header comment), through
the project's Python binding: a refresher thread asks the connection for the
current snapshot every --interval-ms and hands it to the main thread, which
queries the snapshot it serves and prints one JSON line per tick:

  {"tick": 3, "state": "ok", "max_tx": 536870915, "count": 12,
   "held_max_tx": 536870913, "held_count": 0, "age_ms": 5}

Outages go to stderr ("reader: OUTAGE: …", "reader: RECOVERED after N ms"),
also when a refresh hangs for --stale-ms (a cut link drops packets silently).

  python reader.py [--interval-ms N] [--count-query EDN] [--hold]
                   [--ticks N] [--stale-ms N] [--name NAME] CONFIG-EDN
"""

import argparse
import json
import signal
import sys
import threading
import time

import datalith

MAX_TX_Q = "[:find (max ?t) . :where [?t :db/txInstant]]"


def now_ms():
    return int(time.monotonic() * 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--interval-ms", type=int, default=200)
    ap.add_argument("--count-query", default="[:find (count ?e) . :where [?e :scn/n]]")
    ap.add_argument("--hold", action="store_true")
    ap.add_argument("--ticks", type=int, default=-1)
    ap.add_argument("--stale-ms", type=int, default=3000)
    ap.add_argument("--name", default="reader")
    ap.add_argument("config")
    a = ap.parse_args()
    name, iv = a.name, a.interval_ms / 1000.0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def err(e):
        return "%s: %s" % (getattr(e, "code_name", type(e).__name__),
                           getattr(e, "message", str(e)))

    started = now_ms()
    n = 0
    while not stop.is_set():
        try:
            conn = datalith.connect(a.config)
            break
        except datalith.Error as e:
            if e.code_name in ("DATALITH_EPARSE", "DATALITH_EINVAL", "DATALITH_EUNSUPPORTED"):
                print("%s: connect failed: %s" % (name, err(e)), file=sys.stderr)
                return 1
            if n % 25 == 0:
                print("%s: OUTAGE: cannot connect (%s); retrying" % (name, err(e)),
                      file=sys.stderr, flush=True)
            n += 1
            stop.wait(iv)
    else:
        return 0
    served = conn.db()
    held = conn.db() if a.hold else None
    print("%s: connected in %d ms" % (name, now_ms() - started), file=sys.stderr, flush=True)

    mu = threading.Lock()
    st = {"next": None, "outage": False, "confirmed": now_ms()}

    def refresher():
        since = last_note = 0
        while not stop.is_set():
            try:
                db = conn.db()
            except datalith.Error as e:
                t = now_ms()
                with mu:
                    first = not st["outage"]
                    st["outage"] = True
                if first:
                    since = last_note = t
                    print("%s: OUTAGE: cannot read the current head (%s); serving the last "
                          "snapshot" % (name, err(e)), file=sys.stderr, flush=True)
                elif t - last_note >= 5000:
                    last_note = t
                    print("%s: still unreachable after %d ms (%s); serving the last snapshot"
                          % (name, t - since, err(e)), file=sys.stderr, flush=True)
            else:
                t = now_ms()
                try:
                    mt = db.q(MAX_TX_Q)
                    db.q(a.count_query)   # warm the cache for the main thread
                except datalith.Error:
                    mt = None
                with mu:
                    old, st["next"] = st["next"], db
                    st["confirmed"] = t
                    was_out, st["outage"] = st["outage"], False
                if old is not None:
                    old.close()
                if was_out:
                    print("%s: RECOVERED after %d ms; max-tx %s" % (name, t - since, mt),
                          file=sys.stderr, flush=True)
            stop.wait(iv)

    th = threading.Thread(target=refresher, daemon=True)
    th.start()

    def q(db, query):
        try:
            return db.q(query)
        except datalith.Error as e:
            print("%s: query failed: %s" % (name, err(e)), file=sys.stderr, flush=True)
            return "error"

    tick = 1
    stale_since = stale_note = 0
    while not stop.is_set() and (a.ticks < 0 or tick <= a.ticks):
        with mu:
            nxt, st["next"] = st["next"], None
            outage = st["outage"]
            age = now_ms() - st["confirmed"]
        if nxt is not None:
            served.close()
            served = nxt
        if age >= a.stale_ms and not outage:
            # the refresher is stuck in a read that does not answer
            t = now_ms()
            if not stale_since or t - stale_note >= 5000:
                print("%s: OUTAGE: the store has not answered for %d ms; serving the last "
                      "snapshot" % (name, age), file=sys.stderr, flush=True)
                stale_note = t
                stale_since = stale_since or t
            outage = True
        elif stale_since and age < a.stale_ms:
            print("%s: RECOVERED: the store answered again" % name, file=sys.stderr, flush=True)
            stale_since = 0
        line = {"tick": tick, "state": "outage" if outage else "ok",
                "max_tx": q(served, MAX_TX_Q), "count": q(served, a.count_query)}
        if held is not None:
            line["held_max_tx"] = q(held, MAX_TX_Q)
            line["held_count"] = q(held, a.count_query)
        line["age_ms"] = age
        print(json.dumps(line), flush=True)
        tick += 1
        if a.ticks < 0 or tick <= a.ticks:
            stop.wait(iv)
    stop.set()
    th.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
