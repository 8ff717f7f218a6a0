/* Join a base directory and a path, dropping "." and "//". ".." is kept: after a symlink it does
 * not undo the previous component, and only the image's resolver knows which are symlinks. */
#include "sensor.h"

#include <string.h>

int path_join(char *out, size_t cap, const char *base, const char *rel)
{
	const char *parts[2] = {rel[0] == '/' ? "" : base, rel};
	size_t len = 1;
	if (cap < 2)
		return -1;
	out[0] = '/';
	for (int k = 0; k < 2; k++) {
		const char *s = parts[k];
		while (*s) {
			if (*s == '/' || (s[0] == '.' && (s[1] == '/' || !s[1]))) {
				s++; /* an empty or "." component */
				continue;
			}
			if (len > 1) {
				if (len + 1 >= cap)
					return -1;
				out[len++] = '/';
			}
			for (; *s && *s != '/'; s++) { /* one component, copied as it is scanned */
				if (len + 1 >= cap)
					return -1;
				out[len++] = *s;
			}
		}
	}
	out[len] = 0;
	return (int)len;
}
