# conformance.tcl -- runs corpus files of tests/conformance through the Tcl
# binding (the SWIG extension), as tests/conformance/runner.c does.
#
#   tclsh conformance.tcl <dir of datalith.so> <corpus.edn> ...
#
# Each case gets a fresh in-memory database (the case's :config merged over
# {:store {:backend :memory :id <fresh>}}), created before its first step
# and deleted after its last.  Results and expectations are both printed
# canonically by the engine (value_convert EDN -> EDN sorts maps and sets)
# and compared as text; :transact reports compare only the expected keys,
# and :tx-data loses its :db/txInstant datoms unless the expectation lists
# one (README.md of the corpus).  Every op of the corpus README is
# supported, with :db/:hold/:as snapshots and the views :history,
# [:as-of tp] and [:since tp]; a [:filter ...] view needs a host callback,
# which the SWIG binding does not offer, so a step using one fails its case
# (nothing is skipped).  A case with :create? false starts without a
# database or connection.  Exit status 1 if any case failed.

set here [file dirname [file normalize [info script]]]
source [file join $here edn.tcl]
if {[llength $argv] < 2} {
    puts stderr "usage: tclsh conformance.tcl <dir of datalith.so> <corpus.edn> ..."
    exit 2
}
load [file join [lindex $argv 0] datalith[info sharedlibextension]] Datalith

proc canon {text} { value_convert $text $::FORMAT_EDN $::FORMAT_EDN }

# The map text `base` with the entries of `over` (a map node of text `t`)
# deep-merged over it (maps merge key by key, anything else replaces).
proc merge_map {base t over} {
    set bn [edn::read $base]
    set out "\{"
    set done {}
    foreach {k v} [lindex $bn 3] {
        set ks [edn::src $base $k]
        set ov ""
        foreach {ok ovn} [lindex $over 3] {
            if {[edn::src $t $ok] eq $ks} { set ov $ovn }
        }
        if {$ov eq ""} {
            append out $ks " " [edn::src $base $v] " "
        } elseif {[lindex $v 0] eq "map" && [lindex $ov 0] eq "map"} {
            append out $ks " " [merge_map [edn::src $base $v] $t $ov] " "
            lappend done $ks
        } else {
            append out $ks " " [edn::src $t $ov] " "
            lappend done $ks
        }
    }
    foreach {k v} [lindex $over 3] {
        if {[edn::src $t $k] ni $done} { append out [edn::src $t $k] " " [edn::src $t $v] " " }
    }
    append out "\}"
}

# The report's value under `key` (canonical text); :tx-data without
# :db/txInstant datoms when `want` (text) lists none.
proc report_key {report key want} {
    set rn [edn::read $report]
    set v [edn::get $report $rn $key]
    if {$v eq ""} { return "<absent>" }
    if {$key eq ":tx-data" && [string first ":db/txInstant" $want] < 0
        && [lindex $v 0] eq "vec"} {
        set keep {}
        foreach d [lindex $v 3] {
            set inner [lindex $d 3 0]
            if {[lindex $d 0] eq "tagged" && [lindex $inner 0] eq "vec"
                && [edn::src $report [lindex $inner 3 1]] eq ":db/txInstant"} continue
            lappend keep [edn::src $report $d]
        }
        return [canon "\[[join $keep { }]\]"]
    }
    return [canon [edn::src $report $v]]
}

proc arg {t step key {default ""}} {
    set n [edn::get $t $step $key]
    if {$n eq ""} {
        if {$default ne ""} { return $default }
        error "runner: step without $key"
    }
    edn::src $t $n
}

# The snapshot a reading step uses: the one held under :db, or the
# connection's newest, then the step's :view applied.  Returns {db owned}:
# owned is 1 when the caller must release db.
proc snapshot {conn t step} {
    set dn [edn::get $t $step :db]
    if {$dn ne ""} {
        set name [edn::src $t $dn]
        if {![info exists ::held($name)]} { error "runner: no snapshot held as $name" }
        set db $::held($name)
        set owned 0
    } else {
        set db [conn_db $conn]
        set owned 1
    }
    set view [edn::get $t $step :view]
    foreach v [expr {$view eq "" ? {} : [lindex $view 3]}] {
        set vt [edn::src $t $v]
        set kind [expr {[lindex $v 0] eq "vec" ? [edn::src $t [lindex $v 3 0]] : $vt}]
        if {[catch {
            switch -- $kind {
                :history { set next [history $db] }
                :as-of   { set next [as_of $db [edn::src $t [lindex $v 3 1]]] }
                :since   { set next [since $db [edn::src $t [lindex $v 3 1]]] }
                default  { error "runner: view $vt is not supported by the Tcl runner (filters need a host callback)" }
            }
        } m opts]} {
            if {$owned} { db_release $db }
            return -options $opts $m
        }
        if {$owned} { db_release $db }
        set db $next
        set owned 1
    }
    list $db $owned
}

# The configuration of a lifecycle step: its :config merged over the case's.
proc step_config {t step} {
    set sc [edn::get $t $step :config]
    expr {$sc eq "" ? $::case_cfg : [merge_map $::case_cfg $t $sc]}
}

# Run one step; returns its result text.  Raises on failure.
proc run_op {conn t step op} {
    switch -- $op {
        :transact          { return [transact $conn [arg $t $step :tx]] }
        :tempid            { return [tempid [arg $t $step :part]] }
        :database-exists?  { return [expr {[database_exists [step_config $t $step]] ? "true" : "false"}] }
        :create-database   { return [create_database [step_config $t $step]] }
        :delete-database   { delete_database [step_config $t $step]; return "nil" }
        :connect           { conn_release [connect [step_config $t $step]]; return "nil" }
    }
    if {$conn eq ""} { error "runner: $op needs a connection (the case has :create? false)" }
    lassign [snapshot $conn $t $step] db owned
    try {
        switch -- $op {
            :datoms        { return [datoms $db [arg $t $step :args]] }
            :seek-datoms   { return [seek_datoms $db [arg $t $step :args]] }
            :rseek-datoms  { return [rseek_datoms $db [arg $t $step :args]] }
            :index-range   { return [index_range $db [arg $t $step :args]] }
            :entity        { return [entity $db [arg $t $step :eid]] }
            :metrics       { return [metrics $db] }
            :schema        { return [schema $db] }
            :reverse-schema { return [reverse_schema $db] }
            :is-filtered   { return [expr {[is_filtered $db] ? "true" : "false"}] }
            :with          { return [with $db [arg $t $step :tx]] }
            :q             { return [q [arg $t $step :query] [list $db] [arg $t $step :inputs {[]}]] }
            :pull          { return [pull $db [arg $t $step :selector] [arg $t $step :eid]] }
            :pull-many     { return [pull_many $db [arg $t $step :selector] [arg $t $step :eids]] }
            :db-with {
                set ::held([arg $t $step :as]) [db_with $db [arg $t $step :tx]]
                return "nil"
            }
            :hold {
                if {!$owned} { error "runner: :hold of a held snapshot needs a :view" }
                set ::held([arg $t $step :as]) $db
                set owned 0
                return "nil"
            }
            default        { error "runner: op $op is not supported by the Tcl runner" }
        }
    } finally {
        if {$owned} { db_release $db }
    }
}

# Run one case; returns "" if it passed, else why it failed.
proc run_case {t case id} {
    set base "\{:store \{:backend :memory :id \"swig-conformance-$id\"\}\}"
    set cfgn [edn::get $t $case :config]
    set ::case_cfg [expr {$cfgn eq "" ? $base : [merge_map $base $t $cfgn]}]
    set cfg $::case_cfg
    set create [edn::get $t $case :create?]
    set conn ""
    array unset ::held
    if {$create eq "" || [edn::src $t $create] ne "false"} {
        if {[catch {create_database $cfg} m]} { return "create_database: $m" }
        if {[catch {connect $cfg} conn]} { delete_database $cfg; return "connect: $conn" }
    }
    set why ""
    set i 0
    foreach step [lindex [edn::get $t $case :steps] 3] {
        incr i
        set op [edn::src $t [edn::get $t $step :op]]
        set expect [edn::get $t $step :expect]
        set errn [edn::get $t $step :error]
        set failed [catch {run_op $conn $t $step $op} got]
        if {[string match "runner: *" $got] && $failed} { set why "step $i ($op): $got"; break }
        if {$errn ne ""} {
            set want [edn::str $t $errn]
            if {!$failed} { set why "step $i ($op): succeeded, expected error containing \"$want\""; break }
            if {[string first $want $got] < 0} {
                set why "step $i ($op): error \"$got\" does not contain \"$want\""; break
            }
            continue
        }
        if {$failed} { set why "step $i ($op): failed: $got"; break }
        set below [edn::get $t $step :below]
        if {$below ne ""} {
            set b [edn::src $t $below]
            if {!([string is wideinteger -strict $got] && $got < $b)} {
                set why "step $i ($op): got $got, expected an integer below $b"; break
            }
            continue
        }
        if {$expect eq ""} continue
        set wt [edn::src $t $expect]
        if {$op in {:transact :with :create-database} && [lindex $expect 0] eq "map"} {
            foreach {kn vn} [lindex $expect 3] {
                set k [edn::src $t $kn]
                set w [canon [edn::src $t $vn]]
                set g [report_key $got $k [edn::src $t $vn]]
                if {$g ne $w} { set why "step $i ($op): key $k: got $g, expected $w"; break }
            }
            if {$why ne ""} break
        } else {
            set w [canon $wt]
            set g [canon $got]
            if {$g ne $w} { set why "step $i ($op): got $g, expected $w"; break }
        }
    }
    foreach {name h} [array get ::held] { db_release $h }
    array unset ::held
    if {$conn ne ""} { conn_release $conn }
    if {[catch {database_exists $cfg} ex] == 0 && $ex} {
        if {[catch {delete_database $cfg} m] && $why eq ""} { set why "delete_database: $m" }
    }
    return $why
}

set failed 0
set total 0
set id 0
foreach file [lrange $argv 1 end] {
    set f [open $file r]
    fconfigure $f -encoding utf-8
    set t [read $f]
    close $f
    set root [edn::read $t]
    set pass 0
    foreach case [lindex [edn::get $t $root :cases] 3] {
        incr total
        incr id
        set name [edn::str $t [edn::get $t $case :name]]
        set why [run_case $t $case $id]
        if {$why eq ""} {
            incr pass
        } else {
            incr failed
            puts "FAIL [file tail $file]: $name: $why"
        }
    }
    puts "[file tail $file]: $pass/[llength [lindex [edn::get $t $root :cases] 3]] cases passed"
}
puts "conformance (Tcl): [expr {$total - $failed}]/$total cases passed"
exit [expr {$failed ? 1 : 0}]
