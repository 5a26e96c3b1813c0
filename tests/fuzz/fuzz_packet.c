/*
 * tests/fuzz/fuzz_packet.c -- libFuzzer target: the command-packet decoder.
 *
 * Wraps gpusim__gpu_packet_fuzz_one() (src/gpu/packet_fuzz.c), which reads the input as a ring
 * size, a read and a write pointer and the ring's contents (docs/packets.md §4), decodes the whole
 * stream packet by packet and as one stream, and aborts when a decoder invariant fails: the
 * round trip through the public encoders, the error's offset and reason, agreement between the two
 * ways of decoding. Any return value is fine; only a crash, an abort or a sanitizer report counts.
 */
#include <stddef.h>
#include <stdint.h>

#include "gpu/packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)gpusim__gpu_packet_fuzz_one(data, size);
    return 0;
}
