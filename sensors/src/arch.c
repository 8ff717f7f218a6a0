/* The per-architecture part: ABI table (names, audit arch, pointer size). */
#include "sensor.h"
#include "syscalls_gen.h"

#define N(t) (sizeof(t) / sizeof((t)[0]))

#if defined(__x86_64__)
const char *const native_arch = "x86_64";
const struct abi_info abis[ABI_COUNT] = {
	[ABI_NATIVE] = {"x86_64", 0xC000003Eu, 8, sc_x86_64, N(sc_x86_64)},
	[ABI_COMPAT] = {"i386", 0x40000003u, 4, sc_i386, N(sc_i386)},
	[ABI_X32] = {"x32", 0xC000003Eu, 4, sc_x32, N(sc_x32)},
};
#elif defined(__aarch64__)
const char *const native_arch = "aarch64";
const struct abi_info abis[ABI_COUNT] = {
	[ABI_NATIVE] = {"aarch64", 0xC00000B7u, 8, sc_aarch64, N(sc_aarch64)},
	[ABI_COMPAT] = {"arm", 0x40000028u, 4, sc_arm, N(sc_arm)},
	[ABI_X32] = {"none", 0, 0, 0, 0},
};
#else
#error "the sensor supports x86_64 and aarch64"
#endif

/* Registers, for kernels without PTRACE_GET_SYSCALL_INFO (before 5.3). */
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

int arch_regs(pid_t tid, struct sc_view *v)
{
#if defined(__x86_64__)
	struct user_regs_struct r;
	if (ptrace(PTRACE_GETREGS, tid, 0, &r) != 0)
		return -1;
	v->ret = (int64_t)r.rax;
	if (r.cs == 0x23) { /* a 32-bit code segment: the i386 ABI */
		v->abi = ABI_COMPAT;
		v->nr = (uint32_t)r.orig_rax;
		uint64_t a[6] = {r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp};
		for (int i = 0; i < 6; i++)
			v->args[i] = (uint32_t)a[i];
		v->ret = (int32_t)r.rax;
		return 0;
	}
	v->abi = (r.orig_rax & 0x40000000u) ? ABI_X32 : ABI_NATIVE;
	v->nr = r.orig_rax & ~(uint64_t)0x40000000u;
	uint64_t a[6] = {r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9};
	for (int i = 0; i < 6; i++)
		v->args[i] = a[i];
	return 0;
#else
	struct user_regs_struct r;
	struct iovec io = {&r, sizeof r};
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &io) != 0)
		return -1;
	if (io.iov_len < sizeof r) { /* AArch32 task: 18 32-bit registers */
		uint32_t *w = (uint32_t *)&r;
		v->abi = ABI_COMPAT;
		v->nr = w[7];
		for (int i = 0; i < 6; i++)
			v->args[i] = w[i];
		v->ret = (int32_t)w[0];
		return 0;
	}
	v->abi = ABI_NATIVE;
	v->nr = r.regs[8];
	for (int i = 0; i < 6; i++)
		v->args[i] = r.regs[i];
	v->ret = (int64_t)r.regs[0];
	return 0;
#endif
}
