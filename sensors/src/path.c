/* Join a base directory and a path, dropping "." and "//". ".." is kept: after a symlink it does
 * not undo the previous component, and only the image's resolver knows which are symlinks. */
#include "sensor.h"

#include <string.h>

int path_join(char *out, size_t cap, const char *base, const char *rel)
{
	size_t len = 0;
	const char *parts[2] = {rel[0] == '/' ? "" : base, rel};
	if (cap < 2)
		return -1;
	out[0] = '/';
	len = 1;
	for (int k = 0; k < 2; k++) {
		const char *s = parts[k];
		while (*s) {
			while (*s == '/')
				s++;
			const char *e = s;
			while (*e && *e != '/')
				e++;
			size_t n = (size_t)(e - s);
			if (n == 0)
				break;
			if (n == 1 && s[0] == '.') {
				/* nothing */
			} else {
				if (len + (len > 1) + n + 1 > cap)
					return -1;
				if (len > 1)
					out[len++] = '/';
				memcpy(out + len, s, n);
				len += n;
			}
			s = e;
		}
	}
	out[len] = 0;
	return (int)len;
}
