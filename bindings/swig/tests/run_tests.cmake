# The ctest swig_tcl: configure and build the standalone SWIG project
# (bindings/swig) in BIN, then run the Tcl smoke test and the Tcl
# conformance runner over CORPUS_FILES (a ;-list of corpus file names).
#
#   cmake -DSRC=<repo> -DBIN=<dir> -DTCLSH=<tclsh> -DCC=<compiler>
#         -DCORPUS_FILES="transact.edn;..." -P run_tests.cmake
foreach(v SRC BIN TCLSH CORPUS_FILES)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_tests.cmake: -D${v}=... is required")
  endif()
endforeach()

set(cfg_args -S ${SRC}/bindings/swig -B ${BIN} -DCMAKE_BUILD_TYPE=RelWithDebInfo)
if(DEFINED GENERATOR)
  list(APPEND cfg_args -G ${GENERATOR})
endif()
if(DEFINED CC AND NOT CC STREQUAL "")
  list(APPEND cfg_args -DCMAKE_C_COMPILER=${CC})
endif()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "swig_tcl: ${what} failed (${rc})")
  endif()
endfunction()

run("configure" ${CMAKE_COMMAND} ${cfg_args})
run("build" ${CMAKE_COMMAND} --build ${BIN} -j2)
run("smoke.tcl" ${TCLSH} ${SRC}/bindings/swig/tests/smoke.tcl ${BIN} ${BIN}/smoke-scratch)
set(files)
foreach(f ${CORPUS_FILES})
  list(APPEND files ${SRC}/tests/conformance/${f})
endforeach()
run("conformance.tcl" ${TCLSH} ${SRC}/bindings/swig/tests/conformance.tcl ${BIN} ${files})
