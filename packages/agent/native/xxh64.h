/* XXH64 with seed 0, as the protocol's hasher (xxhash-wasm) computes it: see xxh64.c. */
#ifndef SKIFF_XXH64_H
#define SKIFF_XXH64_H

#include <stddef.h>
#include <stdint.h>

uint64_t xxh64(const void *data, size_t length);

#endif
