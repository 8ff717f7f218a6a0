/* Shared syscall decoding: which arguments of which syscall are paths, and what access they are.
 * The only per-architecture data is the ABI table in arch.c and the generated name tables. */
#include "sensor.h"

#include <string.h>

const char *const op_names[OP_COUNT] = {
	"open_r", "open_w", "open_c", "exec", "stat", "lstat", "access", "readlink", "chdir",
	"mkdir", "mknod", "unlink", "rmdir", "rename_from", "rename_to", "link_from", "link_to",
	"symlink", "truncate", "chmod", "chown", "utime", "xattr_r", "xattr_w", "inotify", "bind",
	"connect",
};

/* Syscall name -> decoding kind; names an ABI lacks are simply not found in its table. */
static const struct {
	const char *name;
	uint8_t kind;
} decls[] = {
	{"open", K_OPEN}, {"openat", K_OPENAT}, {"openat2", K_OPENAT2}, {"creat", K_CREAT},
	{"stat", K_STAT}, {"stat64", K_STAT}, {"oldstat", K_STAT},
	{"lstat", K_LSTAT}, {"lstat64", K_LSTAT}, {"oldlstat", K_LSTAT},
	{"newfstatat", K_FSTATAT}, {"fstatat64", K_FSTATAT}, {"statx", K_STATX},
	{"access", K_ACCESS}, {"faccessat", K_FACCESSAT}, {"faccessat2", K_FACCESSAT},
	{"readlink", K_READLINK}, {"readlinkat", K_READLINKAT},
	{"execve", K_EXECVE}, {"execveat", K_EXECVEAT}, {"chdir", K_CHDIR},
	{"mkdir", K_MKDIR}, {"mkdirat", K_MKDIRAT}, {"mknod", K_MKNOD}, {"mknodat", K_MKNODAT},
	{"unlink", K_UNLINK}, {"unlinkat", K_UNLINKAT}, {"rmdir", K_RMDIR},
	{"rename", K_RENAME}, {"renameat", K_RENAMEAT}, {"renameat2", K_RENAMEAT},
	{"link", K_LINK}, {"linkat", K_LINKAT}, {"symlink", K_SYMLINK}, {"symlinkat", K_SYMLINKAT},
	{"truncate", K_TRUNCATE}, {"truncate64", K_TRUNCATE},
	{"chmod", K_CHMOD}, {"fchmodat", K_FCHMODAT}, {"fchmodat2", K_FCHMODAT},
	{"chown", K_CHOWN}, {"chown32", K_CHOWN}, {"lchown", K_CHOWN}, {"lchown32", K_CHOWN},
	{"fchownat", K_FCHOWNAT},
	{"utime", K_UTIME}, {"utimes", K_UTIME}, {"utimensat", K_UTIMENSAT},
	{"utimensat_time64", K_UTIMENSAT}, {"futimesat", K_FUTIMESAT},
	{"statfs", K_STATFS}, {"statfs64", K_STATFS},
	{"getxattr", K_XATTR_R}, {"lgetxattr", K_XATTR_R}, {"listxattr", K_XATTR_R},
	{"llistxattr", K_XATTR_R}, {"setxattr", K_XATTR_W}, {"lsetxattr", K_XATTR_W},
	{"removexattr", K_XATTR_W}, {"lremovexattr", K_XATTR_W},
	{"getxattrat", K_XATTRAT_R}, {"listxattrat", K_XATTRAT_R},
	{"setxattrat", K_XATTRAT_W}, {"removexattrat", K_XATTRAT_W},
	{"inotify_add_watch", K_INOTIFY}, {"bind", K_BIND}, {"connect", K_CONNECT},
	{"socket", K_SOCKET},
};

#define KIND_MAX 1024
static uint8_t kinds[ABI_COUNT][KIND_MAX];

void decode_init(void)
{
	for (int a = 0; a < ABI_COUNT; a++) {
		if (!abis[a].table)
			continue;
		for (size_t d = 0; d < sizeof decls / sizeof decls[0]; d++) {
			int nr = syscall_nr(a, decls[d].name);
			if (nr >= 0 && nr < KIND_MAX)
				kinds[a][nr] = decls[d].kind;
		}
	}
}

int syscall_nr(int abi, const char *name)
{
	const struct abi_info *info = &abis[abi];
	for (size_t i = 0; i < info->count; i++)
		if (strcmp(info->table[i].name, name) == 0)
			return (int)info->table[i].nr;
	return -1;
}

enum kind kind_of(int abi, uint64_t nr)
{
	return nr < KIND_MAX ? (enum kind)kinds[abi][nr] : K_NONE;
}

/* Flag values shared by every Linux ABI the sensor supports. */
#define X_O_ACCMODE 3
#define X_O_CREAT 0100
#define X_O_TMPFILE 020000000
#define X_AT_SYMLINK_NOFOLLOW 0x100
#define X_AT_REMOVEDIR 0x200
#define X_AT_EMPTY_PATH 0x1000

static uint8_t open_op(uint64_t flags)
{
	if (flags & (X_O_CREAT | X_O_TMPFILE))
		return OP_OPEN_CREATE;
	if (flags & X_O_ACCMODE)
		return OP_OPEN_WRITE;
	return OP_OPEN_READ;
}

static void add(struct decoded *d, int64_t dirfd, uint64_t addr, uint8_t op)
{
	struct path_arg *p = &d->path[d->npaths++];
	p->dirfd = (int)dirfd;
	p->addr = addr;
	p->op = op;
	p->empty_ok = 0;
}

/* Decodes the entry of a syscall of the given kind. Returns the number of paths (0..2). */
int decode(enum kind kind, const uint64_t a[6], struct decoded *d, read_u64_fn rd, void *ctx)
{
	uint64_t how = 0;
	memset(d, 0, sizeof *d);
	d->needs_exit = 1;
	switch (kind) {
	case K_OPEN: add(d, FD_CWD, a[0], open_op(a[1])); break;
	case K_OPENAT: add(d, (int)a[0], a[1], open_op(a[2])); break;
	case K_OPENAT2:
		if (rd(ctx, a[2], &how) != 0)
			how = 0;
		add(d, (int)a[0], a[1], open_op(how));
		break;
	case K_CREAT: add(d, FD_CWD, a[0], OP_OPEN_CREATE); break;
	case K_STAT: case K_STATFS: add(d, FD_CWD, a[0], OP_STAT); break;
	case K_LSTAT: add(d, FD_CWD, a[0], OP_LSTAT); break;
	case K_FSTATAT:
		add(d, (int)a[0], a[1], (a[3] & X_AT_SYMLINK_NOFOLLOW) ? OP_LSTAT : OP_STAT);
		d->path[0].empty_ok = (a[3] & X_AT_EMPTY_PATH) != 0;
		break;
	case K_STATX:
		add(d, (int)a[0], a[1], (a[2] & X_AT_SYMLINK_NOFOLLOW) ? OP_LSTAT : OP_STAT);
		d->path[0].empty_ok = (a[2] & X_AT_EMPTY_PATH) != 0;
		break;
	case K_ACCESS: add(d, FD_CWD, a[0], OP_ACCESS); break;
	case K_FACCESSAT:
		add(d, (int)a[0], a[1], OP_ACCESS);
		d->path[0].empty_ok = (a[3] & X_AT_EMPTY_PATH) != 0;
		break;
	case K_READLINK: add(d, FD_CWD, a[0], OP_READLINK); break;
	case K_READLINKAT: add(d, (int)a[0], a[1], OP_READLINK); break;
	case K_EXECVE:
		add(d, FD_CWD, a[0], OP_EXEC);
		d->exec = 1;
		d->argv_addr = a[1];
		break;
	case K_EXECVEAT:
		add(d, (int)a[0], a[1], OP_EXEC);
		d->path[0].empty_ok = (a[4] & X_AT_EMPTY_PATH) != 0;
		d->exec = 1;
		d->argv_addr = a[2];
		break;
	case K_CHDIR: add(d, FD_CWD, a[0], OP_CHDIR); break;
	case K_MKDIR: add(d, FD_CWD, a[0], OP_MKDIR); break;
	case K_MKDIRAT: add(d, (int)a[0], a[1], OP_MKDIR); break;
	case K_MKNOD: add(d, FD_CWD, a[0], OP_MKNOD); break;
	case K_MKNODAT: add(d, (int)a[0], a[1], OP_MKNOD); break;
	case K_UNLINK: add(d, FD_CWD, a[0], OP_UNLINK); break;
	case K_UNLINKAT:
		add(d, (int)a[0], a[1], (a[2] & X_AT_REMOVEDIR) ? OP_RMDIR : OP_UNLINK);
		break;
	case K_RMDIR: add(d, FD_CWD, a[0], OP_RMDIR); break;
	case K_RENAME:
		add(d, FD_CWD, a[0], OP_RENAME_FROM);
		add(d, FD_CWD, a[1], OP_RENAME_TO);
		break;
	case K_RENAMEAT:
		add(d, (int)a[0], a[1], OP_RENAME_FROM);
		add(d, (int)a[2], a[3], OP_RENAME_TO);
		break;
	case K_LINK:
		add(d, FD_CWD, a[0], OP_LINK_FROM);
		add(d, FD_CWD, a[1], OP_LINK_TO);
		break;
	case K_LINKAT:
		add(d, (int)a[0], a[1], OP_LINK_FROM);
		d->path[0].empty_ok = (a[4] & X_AT_EMPTY_PATH) != 0;
		add(d, (int)a[2], a[3], OP_LINK_TO);
		break;
	case K_SYMLINK: add(d, FD_CWD, a[1], OP_SYMLINK); break;
	case K_SYMLINKAT: add(d, (int)a[1], a[2], OP_SYMLINK); break;
	case K_TRUNCATE: add(d, FD_CWD, a[0], OP_TRUNCATE); break;
	case K_CHMOD: add(d, FD_CWD, a[0], OP_CHMOD); break;
	case K_FCHMODAT: add(d, (int)a[0], a[1], OP_CHMOD); break;
	case K_CHOWN: add(d, FD_CWD, a[0], OP_CHOWN); break;
	case K_FCHOWNAT:
		add(d, (int)a[0], a[1], OP_CHOWN);
		d->path[0].empty_ok = (a[4] & X_AT_EMPTY_PATH) != 0;
		break;
	case K_UTIME: add(d, FD_CWD, a[0], OP_UTIME); break;
	case K_UTIMENSAT:
		if (a[1] == 0) /* futimens(): the descriptor itself */
			return 0;
		add(d, (int)a[0], a[1], OP_UTIME);
		break;
	case K_FUTIMESAT: add(d, (int)a[0], a[1], OP_UTIME); break;
	case K_XATTR_R: add(d, FD_CWD, a[0], OP_XATTR_READ); break;
	case K_XATTR_W: add(d, FD_CWD, a[0], OP_XATTR_WRITE); break;
	case K_XATTRAT_R:
		add(d, (int)a[0], a[1], OP_XATTR_READ);
		d->path[0].empty_ok = (a[2] & X_AT_EMPTY_PATH) != 0;
		break;
	case K_XATTRAT_W:
		add(d, (int)a[0], a[1], OP_XATTR_WRITE);
		d->path[0].empty_ok = (a[2] & X_AT_EMPTY_PATH) != 0;
		break;
	case K_INOTIFY: add(d, FD_CWD, a[1], OP_INOTIFY); break;
	case K_BIND: case K_CONNECT:
		d->sockaddr = a[1];
		d->socklen = a[2];
		break;
	case K_SOCKET:
		d->family = (int64_t)(int)a[0];
		d->type = (int64_t)(int)a[1];
		d->needs_exit = 0;
		break;
	default:
		d->needs_exit = 0;
		return 0;
	}
	return d->npaths;
}
