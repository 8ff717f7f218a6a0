/* The ABI table of the architecture a host test driver is built for (-DDRIVER_AARCH64 for
 * aarch64, else x86_64), as arch.c defines it in the sensor. */
#ifndef DRIVER_ABIS_H
#define DRIVER_ABIS_H
#include "syscalls_gen.h"

#define N(t) (sizeof(t) / sizeof((t)[0]))
#ifdef DRIVER_AARCH64
const char *const native_arch = "aarch64";
const struct abi_info abis[ABI_COUNT] = {
	[ABI_NATIVE] = {"aarch64", 0xC00000B7u, 8, sc_aarch64, N(sc_aarch64)},
	[ABI_COMPAT] = {"arm", 0x40000028u, 4, sc_arm, N(sc_arm)},
	[ABI_X32] = {"none", 0, 0, 0, 0},
};
#else
const char *const native_arch = "x86_64";
const struct abi_info abis[ABI_COUNT] = {
	[ABI_NATIVE] = {"x86_64", 0xC000003Eu, 8, sc_x86_64, N(sc_x86_64)},
	[ABI_COMPAT] = {"i386", 0x40000003u, 4, sc_i386, N(sc_i386)},
	[ABI_X32] = {"x32", 0xC000003Eu, 4, sc_x32, N(sc_x32)},
};
#endif

#endif
