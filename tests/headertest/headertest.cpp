// Compiles the public header as C++ (checks the extern "C" guards).
#include "datalith.h"

int headertest_cxx();
int headertest_cxx() {
    const datalith_error *e = datalith_error_last();
    return e->code == DATALITH_OK ? 0 : 1;
}
