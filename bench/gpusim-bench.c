/* gpusim-bench.c -- stub, being written. */
#include "sim.h"
int main(void)
{
    return 0;
}
