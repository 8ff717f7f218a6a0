/* `sensor --serve`: the image's tree and its file contents, from inside a fresh container.
 *
 * Runs as PID 1 of a container of the image that was never started before (the engine made its
 * filesystem from the image's layers; nothing else runs in it). First it walks the root
 * filesystem with lstat/llistxattr/readlink only (never reading a file) and writes the tree to
 * stdout (format in sensors/WALK.md); then it answers content requests read from stdin, one
 * line each, with the bytes of regular files. Paths are opened one component at a time without
 * following symlinks, only when they are regular files of the inode the walk saw. */
#include "sensor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define WALK_VERSION 1
#define MAX_MOUNTS 4096
#define XATTR_LIST_CAP 65536
#define XATTR_VALUE_CAP 65536
#define MAX_REQUEST_BYTES (8u << 20)
#define LINE_CAP (4 * PATH_CAP + 256)

static struct out wout = {.fd = 1};
static char *mounts[MAX_MOUNTS];
static int nmounts;
static const char *skip_dir;
static dev_t root_dev;
static uint64_t entries;
static char xattr_names[XATTR_LIST_CAP];
static char xattr_value[XATTR_VALUE_CAP];

/* ---- mount points ---------------------------------------------------------------------- */

/* Decodes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape_octal(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
}

/* Every mount point but "/" (the fifth field of /proc/self/mountinfo). */
static int read_mounts(void)
{
	int err;
	char *text = read_small_file("/proc/self/mountinfo", &err);
	if (!text)
		return -err;
	for (char *line = text; *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		else
			next = line + strlen(line);
		char *field = line;
		for (int i = 0; i < 4 && field; i++) {
			field = strchr(field, ' ');
			if (field)
				field++;
		}
		if (field) {
			char *end = strchr(field, ' ');
			if (end)
				*end = 0;
			unescape_octal(field);
			if (strcmp(field, "/") != 0 && nmounts < MAX_MOUNTS)
				mounts[nmounts++] = strdup(field);
		}
		line = next;
	}
	free(text);
	return nmounts == MAX_MOUNTS ? -E2BIG : 0;
}

static int is_mount(const char *path)
{
	for (int i = 0; i < nmounts; i++)
		if (mounts[i] && strcmp(mounts[i], path) == 0)
			return 1;
	return 0;
}

/* ---- the walk -------------------------------------------------------------------------- */

static void emit_error(const char *path, int err, const char *what)
{
	out_str(&wout, "err ");
	out_esc(&wout, path, strlen(path));
	out_str(&wout, " ");
	out_u64(&wout, (uint64_t)err);
	out_str(&wout, " ");
	out_str(&wout, what);
	out_str(&wout, "\n");
}

static char type_letter(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return 'f';
	case S_IFDIR: return 'd';
	case S_IFLNK: return 'l';
	case S_IFCHR: return 'c';
	case S_IFBLK: return 'b';
	case S_IFIFO: return 'p';
	default: return 's';
	}
}

static void emit_entry(const char *path, const struct stat *st)
{
	char type[2] = {type_letter(st->st_mode), 0};
	out_str(&wout, "e ");
	out_str(&wout, type);
	out_str(&wout, " ");
	out_esc(&wout, path, strlen(path));
	const uint64_t numbers[] = {
		st->st_mode & 07777, st->st_uid, st->st_gid, (uint64_t)st->st_size,
	};
	for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
		out_str(&wout, " ");
		out_u64(&wout, numbers[i]);
	}
	const int64_t times[] = {
		st->st_mtim.tv_sec, st->st_mtim.tv_nsec, st->st_ctim.tv_sec, st->st_ctim.tv_nsec,
	};
	for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
		out_str(&wout, " ");
		out_i64(&wout, times[i]);
	}
	const uint64_t ids[] = {
		st->st_ino, st->st_nlink, major(st->st_rdev), minor(st->st_rdev), st->st_dev,
	};
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		out_str(&wout, " ");
		out_u64(&wout, ids[i]);
	}
	out_str(&wout, "\n");
}

static void emit_link(const char *path)
{
	char target[PATH_CAP + 1];
	ssize_t n = readlink(path, target, sizeof target);
	if (n < 0 || (size_t)n > PATH_CAP) {
		emit_error(path, n < 0 ? (unsigned)errno : ENAMETOOLONG, "readlink");
		return;
	}
	out_str(&wout, "l ");
	out_esc(&wout, target, (size_t)n);
	out_str(&wout, "\n");
}

static void emit_xattrs(const char *path)
{
	ssize_t len = llistxattr(path, xattr_names, sizeof xattr_names);
	if (len < 0) {
		if (errno != ENOTSUP)
			emit_error(path, (unsigned)errno, "listxattr");
		return;
	}
	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(xattr_names + i) + 1) {
		const char *name = xattr_names + i;
		ssize_t size = lgetxattr(path, name, xattr_value, sizeof xattr_value);
		if (size < 0) {
			if (errno != ENODATA)
				emit_error(path, (unsigned)errno, "getxattr");
			continue;
		}
		out_str(&wout, "x ");
		out_esc(&wout, name, strlen(name));
		out_str(&wout, " ");
		out_esc(&wout, xattr_value, (size_t)size);
		out_str(&wout, "\n");
	}
}

/* The names in a directory (NUL-separated, "." and ".." left out); NULL on error. */
static char *list_dir(const char *path, size_t *total)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	size_t cap = 4096, len = 0;
	char *names = xmalloc(cap);
	struct dirent *d;
	errno = 0;
	while ((d = readdir(dir))) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		size_t n = strlen(d->d_name) + 1;
		while (len + n > cap)
			names = xrealloc(names, cap *= 2);
		memcpy(names + len, d->d_name, n);
		len += n;
	}
	int err = errno;
	closedir(dir);
	if (err) {
		free(names);
		errno = err;
		return NULL;
	}
	*total = len;
	return names;
}

static void walk_dir(const char *path);

static void walk_entry(const char *path)
{
	struct stat st;
	if (skip_dir && strcmp(path, skip_dir) == 0)
		return;
	if (is_mount(path)) {
		out_str(&wout, "mount ");
		out_esc(&wout, path, strlen(path));
		out_str(&wout, "\n");
		return;
	}
	if (lstat(path, &st) != 0) {
		emit_error(path, (unsigned)errno, "lstat");
		return;
	}
	if (st.st_dev != root_dev && S_ISDIR(st.st_mode)) { /* a mount mountinfo did not name */
		out_str(&wout, "mount ");
		out_esc(&wout, path, strlen(path));
		out_str(&wout, "\n");
		return;
	}
	entries++;
	emit_entry(path, &st);
	if (S_ISLNK(st.st_mode))
		emit_link(path);
	emit_xattrs(path);
	if (S_ISDIR(st.st_mode))
		walk_dir(path);
}

static void walk_dir(const char *path)
{
	size_t total = 0;
	char *names = list_dir(path, &total);
	if (!names) {
		emit_error(path, (unsigned)errno, "readdir");
		return;
	}
	char child[PATH_CAP];
	for (size_t i = 0; i < total; i += strlen(names + i) + 1) {
		int n = snprintf(child, sizeof child, "%s/%s", strcmp(path, "/") ? path : "",
				 names + i);
		if (n < 0 || (size_t)n >= sizeof child) {
			emit_error(path, ENAMETOOLONG, "name");
			continue;
		}
		walk_entry(child);
	}
	free(names);
}

static int walk(void)
{
	struct stat st;
	int err = read_mounts();
	out_str(&wout, "slimmer-walk ");
	out_u64(&wout, WALK_VERSION);
	out_str(&wout, "\n");
	if (err)
		emit_error("/proc/self/mountinfo", (unsigned)-err, "mountinfo");
	if (lstat("/", &st) != 0)
		return -errno;
	root_dev = st.st_dev;
	entries = 1;
	emit_entry("/", &st);
	emit_xattrs("/");
	walk_dir("/");
	out_str(&wout, "end ");
	out_u64(&wout, entries);
	out_str(&wout, "\n");
	return out_flush(&wout);
}

/* ---- contents ---------------------------------------------------------------------------- */

/* Opens the regular file at the absolute `path`, following no symlink on the way, if it is
 * the inode (ino, size) the walk saw (ino 0: any inode of that size). Returns an fd or -errno. */
static int open_regular(const char *path, uint64_t ino, uint64_t size)
{
	char copy[PATH_CAP];
	if (path[0] != '/' || strlen(path) >= sizeof copy)
		return -EINVAL;
	strcpy(copy, path);
	int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *part = copy + 1, *slash;
	while (dir >= 0 && (slash = strchr(part, '/'))) {
		*slash = 0;
		int next = strcmp(part, "..") == 0 || !*part
				   ? (errno = EINVAL, -1)
				   : openat(dir, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(dir);
		dir = next;
		part = slash + 1;
	}
	if (dir < 0)
		return -errno;
	struct stat st;
	int fd = -1, err = 0;
	if (fstatat(dir, part, &st, AT_SYMLINK_NOFOLLOW) != 0)
		err = errno;
	else if (!S_ISREG(st.st_mode) || (ino && st.st_ino != ino) || (uint64_t)st.st_size != size)
		err = ESTALE;
	else if ((fd = openat(dir, part, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		err = errno;
	else if (fstat(fd, &st) != 0 || (ino && st.st_ino != ino) || (uint64_t)st.st_size != size)
		err = ESTALE;
	close(dir);
	if (err) {
		if (fd >= 0)
			close(fd);
		return -err;
	}
	return fd;
}

struct request {
	uint64_t id, ino, size, offset, length;
	char path[PATH_CAP];
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes an escaped field (REPORT.md's escaping) into out; -1 if malformed or too long. */
static int unescape_field(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	if (strcmp(s, "\\-") == 0) {
		out[0] = 0;
		return 0;
	}
	for (; *s; s++) {
		char c = *s;
		if (c == '\\') {
			int hi = s[1] == 'x' ? hexval(s[2]) : -1, lo = hi < 0 ? -1 : hexval(s[3]);
			if (lo < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			s += 3;
		}
		if (c == 0 || n + 1 >= cap)
			return -1;
		out[n++] = c;
	}
	out[n] = 0;
	return 0;
}

/* "r ID INO SIZE OFFSET LENGTH PATH" */
static int parse_request(char *line, struct request *r)
{
	char *f[7];
	int n = 0;
	for (char *tok = strtok(line, " "); tok && n < 7; tok = strtok(NULL, " "))
		f[n++] = tok;
	if (n != 7 || strcmp(f[0], "r") != 0)
		return -1;
	uint64_t *numbers[] = {&r->id, &r->ino, &r->size, &r->offset, &r->length};
	for (int i = 0; i < 5; i++) {
		char *end;
		errno = 0;
		*numbers[i] = strtoull(f[i + 1], &end, 10);
		if (errno || *end || f[i + 1][0] == '-')
			return -1;
	}
	if (r->length > MAX_REQUEST_BYTES || r->offset > r->size || r->length > r->size - r->offset)
		return -1;
	return unescape_field(f[6], r->path, sizeof r->path);
}

static void answer_error(uint64_t id, int err)
{
	out_str(&wout, "n ");
	out_u64(&wout, id);
	out_str(&wout, " ");
	out_u64(&wout, (uint64_t)err);
	out_str(&wout, "\n");
}

/* Serves one request; keeps the last file open (blocks of one file come in a row). */
static void serve_request(const struct request *r, char *buf)
{
	static int fd = -1;
	static uint64_t fd_id = UINT64_MAX;
	if (fd_id != r->id) {
		if (fd >= 0)
			close(fd);
		fd = open_regular(r->path, r->ino, r->size);
		fd_id = fd >= 0 ? r->id : UINT64_MAX;
		if (fd < 0) {
			answer_error(r->id, -fd);
			return;
		}
	}
	size_t done = 0;
	while (done < r->length) {
		ssize_t got = pread(fd, buf + done, r->length - done, (off_t)(r->offset + done));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			answer_error(r->id, got < 0 ? errno : EIO);
			return;
		}
		done += (size_t)got;
	}
	out_str(&wout, "d ");
	out_u64(&wout, r->id);
	out_str(&wout, " ");
	out_u64(&wout, r->length);
	out_str(&wout, "\n");
	if (r->length < sizeof wout.buf / 2) {
		out_bytes(&wout, buf, r->length);
		return;
	}
	out_flush(&wout); /* large blocks go out in one write */
	for (size_t sent = 0; sent < r->length && !wout.failed;) {
		ssize_t w = write(wout.fd, buf + sent, r->length - sent);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			wout.failed = 1;
		else
			sent += (size_t)w;
	}
}

/* Reads request lines from stdin until EOF or "q"; flushes whenever no request is pending. */
static int serve(void)
{
	static char in[1 << 16];
	size_t len = 0;
	char *buf = xmalloc(MAX_REQUEST_BYTES);
	struct request *r = xmalloc(sizeof *r);
	for (;;) {
		char *nl = memchr(in, '\n', len);
		if (!nl) {
			struct pollfd ready = {.fd = 0, .events = POLLIN};
			/* answer in large writes: flush only when no request is waiting */
			if (poll(&ready, 1, 0) != 1 && out_flush(&wout) != 0)
				return 125;
			if (len == sizeof in)
				return 125; /* a line longer than any request */
			ssize_t got = read(0, in + len, sizeof in - len);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				return 0;
			len += (size_t)got;
			continue;
		}
		*nl = 0;
		if (strcmp(in, "q") == 0) {
			out_flush(&wout);
			return 0;
		}
		if (parse_request(in, r) != 0) {
			fprintf(stderr, "sensor: malformed request\n");
			out_flush(&wout);
			return 125;
		}
		serve_request(r, buf);
		size_t used = (size_t)(nl + 1 - in);
		memmove(in, nl + 1, len - used);
		len -= used;
	}
}

/* sensor --serve [--skip DIR] [--no-walk] */
int serve_main(int argc, char **argv)
{
	int do_walk = 1;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--skip") == 0 && i + 1 < argc)
			skip_dir = argv[++i];
		else if (strcmp(argv[i], "--no-walk") == 0)
			do_walk = 0;
		else {
			fprintf(stderr, "sensor: --serve [--skip DIR] [--no-walk]: unknown %s\n", argv[i]);
			return 125;
		}
	}
	if (do_walk) {
		int err = walk();
		if (err) {
			fprintf(stderr, "sensor: walking / failed: %s\n", strerror(-err));
			return 125;
		}
	} else {
		out_str(&wout, "slimmer-walk 1\nend 0\n");
		if (out_flush(&wout) != 0)
			return 125;
	}
	return serve();
}
