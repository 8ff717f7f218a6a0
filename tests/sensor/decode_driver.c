/* Host test driver for the sensor's shared code (decoding, paths, users, escaping), compiled
 * by tests/sensor/test_decode.py against the x86_64 or the aarch64 tables (-DDRIVER_AARCH64).
 *
 *   kind ABI NAME                 decoding kind of a syscall name in ABI (native|compat|x32)
 *   decode ABI NAME A0..A5        decoded path arguments: "dirfd addr op" per path
 *   join BASE REL                 lexical join
 *   user SPEC PASSWD GROUP        resolved user from file contents
 *   esc TEXT                      report escaping
 *   verify DUID DGID DGROUP       user_verify for this process's own ids, the uid, gid and an
 *                                 extra group shifted by the given deltas: "ok" or "mismatch" */
#include "sensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver_abis.h"

static const char *const kind_names[K_COUNT] = {
	"none", "open", "openat", "openat2", "creat", "stat", "lstat", "fstatat", "statx",
	"access", "faccessat", "readlink", "readlinkat", "execve", "execveat", "chdir", "mkdir",
	"mkdirat", "mknod", "mknodat", "unlink", "unlinkat", "rmdir", "rename", "renameat",
	"link", "linkat", "symlink", "symlinkat", "truncate", "chmod", "fchmodat", "chown",
	"fchownat", "utime", "utimensat", "futimesat", "statfs", "xattr_r", "xattr_w",
	"xattrat_r", "xattrat_w", "inotify", "bind", "connect", "socket",
};

static int abi_of(const char *s)
{
	return strcmp(s, "compat") == 0 ? ABI_COMPAT : strcmp(s, "x32") == 0 ? ABI_X32 : ABI_NATIVE;
}

static int local_u64(void *ctx, uint64_t addr, uint64_t *out)
{
	(void)ctx;
	*out = addr; /* the tests pass open_how.flags itself as the "address" */
	return 0;
}

int main(int argc, char **argv)
{
	decode_init();
	if (argc == 4 && strcmp(argv[1], "kind") == 0) {
		int nr = syscall_nr(abi_of(argv[2]), argv[3]);
		printf("%d %s\n", nr, nr < 0 ? "none" : kind_names[kind_of(abi_of(argv[2]), nr)]);
		return 0;
	}
	if (argc == 10 && strcmp(argv[1], "decode") == 0) {
		int abi = abi_of(argv[2]);
		int nr = syscall_nr(abi, argv[3]);
		uint64_t a[6];
		for (int i = 0; i < 6; i++)
			a[i] = strtoull(argv[4 + i], NULL, 0);
		struct decoded d;
		decode(kind_of(abi, nr < 0 ? 0 : (uint64_t)nr), a, &d, local_u64, NULL);
		printf("exit=%d exec=%d", d.needs_exit, d.exec);
		for (int i = 0; i < d.npaths; i++)
			printf(" %d:%llu:%s%s", d.path[i].dirfd, (unsigned long long)d.path[i].addr,
			       op_names[d.path[i].op], d.path[i].empty_ok ? ":empty" : "");
		if (d.exec)
			printf(" argv=%llu", (unsigned long long)d.argv_addr);
		if (nr >= 0 && kind_of(abi, nr) == K_SOCKET)
			printf(" socket=%lld/%lld", (long long)d.family, (long long)d.type);
		printf("\n");
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "join") == 0) {
		char out[64];
		int n = path_join(out, sizeof out, argv[2], argv[3]);
		printf("%s\n", n < 0 ? "<too long>" : out);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "user") == 0) {
		struct user_spec u;
		user_resolve(argv[2], argv[3], argv[4], &u);
		if (u.error[0]) {
			printf("error %s\n", u.error);
			return 0;
		}
		printf("%u %u %s", (unsigned)u.uid, (unsigned)u.gid, u.home);
		for (int i = 0; i < u.ngroups; i++)
			printf(" %u", (unsigned)u.groups[i]);
		printf("\n");
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "verify") == 0) {
		static struct user_spec u;
		u.uid = getuid() + (uid_t)atoi(argv[2]);
		u.gid = getgid() + (gid_t)atoi(argv[3]);
		u.ngroups = getgroups(MAX_GROUPS, u.groups);
		if (atoi(argv[4]))
			u.groups[u.ngroups++] = 123456;
		printf("%s\n", user_verify(&u) == 0 ? "ok" : "mismatch");
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "esc") == 0) {
		struct out o = {1, 0, 0, {0}};
		out_esc(&o, argv[2], strlen(argv[2]));
		out_str(&o, "\n");
		out_flush(&o);
		return 0;
	}
	fprintf(stderr, "bad arguments\n");
	return 2;
}
