/* Descriptor stats (what libc's fstat makes: newfstatat/statx with "" and exactly AT_EMPTY_PATH)
 * next to path stats that carry AT_EMPTY_PATH too. tests/sensor/test_fd_stat.py runs it under
 * the sensor with and without --allow-hot, whose filter lets only the first kind through
 * untraced. Raw syscalls only: libc makes no other stat. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DESCRIPTOR_STATS 100

int main(void)
{
	struct stat st;
	char stx[256];
	long dir = syscall(SYS_openat, AT_FDCWD, "/etc", O_RDONLY | O_DIRECTORY);
	if (dir < 0)
		return 1;
	for (int i = 0; i < DESCRIPTOR_STATS; i++) {
		if (syscall(SYS_newfstatat, dir, "", &st, AT_EMPTY_PATH) != 0)
			return 2;
		if (syscall(SYS_statx, dir, "", AT_EMPTY_PATH, 0x7ff, stx) != 0)
			return 3;
	}
	/* traced: AT_FDCWD, other flags with it, a negative descriptor */
	syscall(SYS_newfstatat, AT_FDCWD, "/etc/hostname", &st, AT_EMPTY_PATH);
	syscall(SYS_newfstatat, dir, "passwd", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	syscall(SYS_statx, dir, "group", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, 0x7ff, stx);
	syscall(SYS_newfstatat, -1, "", &st, AT_EMPTY_PATH);
	/* not seen under --allow-hot (the documented limit): a path with exactly AT_EMPTY_PATH */
	syscall(SYS_newfstatat, dir, "shadow", &st, AT_EMPTY_PATH);
	return 0;
}
