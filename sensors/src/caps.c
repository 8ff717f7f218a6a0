/* Capabilities: drop the sensor's extra ones (SYS_ADMIN, ...) from every set of the target. */
#include "sensor.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *const names[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
	"SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN",
	"NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE",
	"SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
	"SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
	"MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
	"PERFMON", "BPF", "CHECKPOINT_RESTORE",
};

int cap_number(const char *name)
{
	char *end;
	long v = strtol(name, &end, 10);
	if (*name && !*end)
		return v >= 0 && v < 64 ? (int)v : -1;
	if (strncasecmp(name, "CAP_", 4) == 0)
		name += 4;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcasecmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

int caps_drop(const uint64_t mask)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	for (int c = 0; c < 64; c++)
		if ((mask >> c) & 1) {
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
				return -errno;
			if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, c, 0, 0) != 0 &&
			    errno != EINVAL)
				return -errno;
		}
	if (syscall(SYS_capget, &hdr, data) != 0)
		return -errno;
	data[0].effective &= ~(uint32_t)mask;
	data[0].permitted &= ~(uint32_t)mask;
	data[0].inheritable &= ~(uint32_t)mask;
	data[1].effective &= ~(uint32_t)(mask >> 32);
	data[1].permitted &= ~(uint32_t)(mask >> 32);
	data[1].inheritable &= ~(uint32_t)(mask >> 32);
	if (syscall(SYS_capset, &hdr, data) != 0)
		return -errno;
	return 0;
}
