/* Host test driver for the sensor's copy of Docker's default seccomp profile (deny.c), compiled
 * by tests/sensor/test_deny_filter.py against the x86_64 or the aarch64 tables (-DDRIVER_AARCH64
 * with -DSENSOR_TABLES_AARCH64).
 *
 *   program PROFILE CAPS KERNEL   the filter for a bounding set (hex mask) and a kernel
 *                                 (major << 16 | minor): one "code jt jf k" line per instruction
 *   select PROFILE                exit status 0 when the profile (or "none") is known */
#include "sensor.h"

#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver_abis.h"

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "select") == 0)
		return deny_select(argv[2]) == 0 ? 0 : 1;
	if (argc != 5 || strcmp(argv[1], "program") != 0 || deny_select(argv[2]) != 0)
		return 2;
	const struct sock_filter *program;
	int n = deny_build(strtoull(argv[3], NULL, 16), (uint32_t)strtoul(argv[4], NULL, 16),
			   &program);
	if (n < 0) {
		printf("error %d\n", n);
		return 1;
	}
	for (int i = 0; i < n; i++)
		printf("%u %u %u %u\n", program[i].code, program[i].jt, program[i].jf, program[i].k);
	return 0;
}
