/* Buffered report output with the escaping REPORT.md defines. */
#include "sensor.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int out_flush(struct out *o)
{
	size_t done = 0;
	while (done < o->len) {
		ssize_t w = write(o->fd, o->buf + done, o->len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			o->failed = 1;
			break;
		}
		done += (size_t)w;
	}
	o->len = 0;
	return o->failed ? -1 : 0;
}

void out_bytes(struct out *o, const void *p, size_t n)
{
	const char *s = p;
	while (n) {
		if (o->len == sizeof o->buf)
			out_flush(o);
		size_t k = sizeof o->buf - o->len;
		if (k > n)
			k = n;
		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
	}
}

void out_str(struct out *o, const char *s)
{
	out_bytes(o, s, strlen(s));
}

void out_esc(struct out *o, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = p;
	if (n == 0) {
		out_str(o, "\\-"); /* the empty string */
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c > 0x20 && c < 0x7f && c != '\\') {
			if (o->len == sizeof o->buf)
				out_flush(o);
			o->buf[o->len++] = (char)c;
		} else {
			char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
			out_bytes(o, e, 4);
		}
	}
}

void out_u64(struct out *o, uint64_t v)
{
	char b[24];
	int i = sizeof b;
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_bytes(o, b + i, sizeof b - (size_t)i);
}

void out_i64(struct out *o, int64_t v)
{
	if (v < 0) {
		out_str(o, "-");
		out_u64(o, (uint64_t)0 - (uint64_t)v);
	} else {
		out_u64(o, (uint64_t)v);
	}
}
