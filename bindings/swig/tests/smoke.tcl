# smoke.tcl -- the Tcl binding end to end: create a database, connect,
# transact a schema and data, read datoms, query, pull, time views, and
# failures that come back as Tcl errors carrying the engine's message.
#
#   tclsh smoke.tcl <dir of datalith.so> <scratch dir>
#
# Expected values are worked out from Datahike's semantics (schema
# attributes take entity ids 1, 2, ...; the first transaction is 536870913),
# not from the engine's output.  Exit status 1 if any check failed.

if {[llength $argv] != 2} {
    puts stderr "usage: tclsh smoke.tcl <dir of datalith.so> <scratch dir>"
    exit 2
}
load [file join [lindex $argv 0] datalith[info sharedlibextension]] Datalith
set scratch [lindex $argv 1]

set checks 0
set failures 0
proc check {name got want} {
    incr ::checks
    if {$got ne $want} {
        incr ::failures
        puts "FAIL $name\n  got:  $got\n  want: $want"
    }
}
proc check_true {name cond} { check $name [expr {[uplevel 1 [list expr $cond]] ? 1 : 0}] 1 }

# Run `script`; it must raise a Tcl error.  Returns {message errorcode}.
proc failing {name script} {
    incr ::checks
    if {![catch {uplevel 1 $script} msg opts]} {
        incr ::failures
        puts "FAIL $name: succeeded, expected an error"
        return {"" ""}
    }
    return [list $msg [dict get $opts -errorcode]]
}
proc canon {text} { value_convert $text $::FORMAT_EDN $::FORMAT_EDN }

# ---- values and constants ----
check_true "version is M.m.p" [regexp {^[0-9]+\.[0-9]+\.[0-9]+$} [version]]
check "value_convert sorts map keys" [value_convert {{:b 1, :a [1 2]}} $FORMAT_EDN $FORMAT_EDN] {{:a [1 2] :b 1}}
check "value_convert EDN -> JSON" [value_convert {[1 "x"]} $FORMAT_EDN $FORMAT_JSON] {[1,"x"]}
check "format constants" [list $FORMAT_EDN $FORMAT_JSON $FORMAT_CBOR] {0 1 2}
check "status constant" $ETX -12
check "status_name" [status_name $EPARSE] DATALITH_EPARSE

lassign [failing "parse error" {value_convert "\{:a\n  \[1 2" $FORMAT_EDN $FORMAT_EDN}] msg code
check "parse error: errorcode names the status" [lrange $code 0 1] {DATALITH DATALITH_EPARSE}
check_true "parse error: has a line (2)" {[lindex $code 2] == 2}
check_true "parse error: has a message" {$msg ne ""}

# ---- lifecycle, on the LMDB file store ----
file mkdir $scratch
set path [file join $scratch db]
file delete -force $path
set cfg "{:store {:backend :file :path \"$path\"} :schema-flexibility :write}"
check "database_exists before create" [database_exists $cfg] 0
set created [create_database $cfg]
check_true "create_database returns the completed config" {[string first ":schema-flexibility :write" $created] >= 0}
check "database_exists after create" [database_exists $cfg] 1
lassign [failing "create twice" {create_database $cfg}] msg code
check "create twice: EEXISTS" [lindex $code 1] DATALITH_EEXISTS

set conn [connect $cfg]
check_true "connect returns a conn handle" {[string match *_p_datalith_conn $conn]}

# ---- transact schema and data ----
set r [transact $conn {[{:db/ident :name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
                        {:db/ident :age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]}]
check_true "schema report has :db-after" {[string first ":db-after" $r] >= 0}
set r [transact $conn {[{:db/id "a" :name "Alice" :age 41} {:db/id "b" :name "Bob" :age 29}]}]
# Report: tempids "a" -> 3, "b" -> 4 (attributes took 1 and 2), tx 536870914.
check_true "data report: tempids" {[string first {:tempids {"a" 3 "b" 4 :db/current-tx 536870914}} $r] >= 0
                                   || [string first {:tempids {:db/current-tx 536870914 "a" 3 "b" 4}} $r] >= 0}

# ---- reads through a snapshot ----
set db [conn_db $conn]
# EAVT orders attributes as keywords (:age before :name), as Datahike does
# without attribute refs.
check {datoms eavt [3]} [datoms $db {{:index :eavt :components [3]}}] \
    [canon {[#datahike/Datom [3 :age 41 536870914 true] #datahike/Datom [3 :name "Alice" 536870914 true]]}]
check {datoms avet [:name "Bob"]} [datoms $db {{:index :avet :components [:name "Bob"]}}] \
    [canon {[#datahike/Datom [4 :name "Bob" 536870914 true]]}]
check "q: names" [q {[:find ?n :where [?e :name ?n]]} $db {[]}] [canon {#{["Alice"] ["Bob"]}}]
check "q: with an input" [q {[:find ?n . :in $ ?min :where [?e :age ?a] [(>= ?a ?min)] [?e :name ?n]]} $db {[30]}] {"Alice"}
check "q: aggregate" [q {[:find (sum ?a) . :where [_ :age ?a]]} $db {[]}] 70
check "pull" [pull $db {[:name :age]} {[:name "Bob"]}] [canon {{:name "Bob" :age 29}}]
check "entity" [entity $db 3] [canon {{:db/id 3 :name "Alice" :age 41}}]
check "is_filtered" [is_filtered $db] 0

# ---- two snapshots in one query; time views ----
transact $conn {[[:db/add 3 :age 42]]}
set db2 [conn_db $conn]
check "q over two dbs" [q {[:find ?old ?new :in $ $2 :where [$ 3 :age ?old] [$2 3 :age ?new]]} [list $db $db2] {[]}] \
    [canon {#{[41 42]}}]
set past [as_of $db2 536870914]
check "as_of" [q {[:find ?a . :where [3 :age ?a]]} $past {[]}] 41
set hist [history $db2]
check "history keeps the retraction" [datoms $hist {{:index :eavt :components [3 :age]}}] \
    [canon {[#datahike/Datom [3 :age 41 536870914 true] #datahike/Datom [3 :age 41 536870915 false]
             #datahike/Datom [3 :age 42 536870915 true]]}]
foreach h [list $hist $past $db2] { db_release $h }

# ---- failures are Tcl errors carrying the engine's message ----
lassign [failing "unknown attribute" {transact $conn {[[:db/add 3 :nope 1]]}}] msg code
check_true "unknown attribute: message names it ($msg)" {[string first ":nope" $msg] >= 0}
check "unknown attribute: status" [lindex $code 1] DATALITH_ESCHEMA
lassign [failing "wrong value type" {transact $conn {[[:db/add 3 :age "old"]]}}] msg code
check_true "wrong value type: a message ($msg)" {$msg ne ""}
lassign [failing "query for an unknown var" {q {[:find ?x :where [?e :name ?n]]} $db {[]}}] msg code
check "unknown var: EQUERY" [lindex $code 1] DATALITH_EQUERY
check_true "unknown var: message names it ($msg)" {[string first "?x" $msg] >= 0}
lassign [failing "malformed tx" {transact $conn {[{:name }]}}] msg code
check "malformed tx: EPARSE" [lindex $code 1] DATALITH_EPARSE
failing "a conn where a db is expected" {datoms $conn {{:index :eavt}}}
failing "not a handle" {datoms "hello" {{:index :eavt}}}
failing "not a list of dbs" {q {[:find ?e :where [?e :name]]} [list $db "x"] {[]}}
check "the database is unchanged by the failures" \
    [q {[:find (count ?e) . :where [?e :name]]} $db {[]}] 2

db_release $db
conn_release $conn

# ---- the data persists in the file store ----
set conn [connect $cfg]
set db [conn_db $conn]
check "reconnect sees the data" [q {[:find ?a . :where [?e :name "Alice"] [?e :age ?a]]} $db {[]}] 42
db_release $db
conn_release $conn
delete_database $cfg
check "database_exists after delete" [database_exists $cfg] 0

puts "smoke (Tcl): [expr {$checks - $failures}]/$checks checks passed"
exit [expr {$failures ? 1 : 0}]
