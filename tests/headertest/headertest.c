/* Compiles the public header alone under -Wall -Wextra -pedantic -Werror. */
#include "datalith.h"

int headertest_c(void);
int headertest_c(void) {
    const datalith_error *e = datalith_error_last();
    return e->code == DATALITH_OK ? 0 : 1;
}
