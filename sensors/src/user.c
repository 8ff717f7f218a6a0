/* The image's USER resolved as the engine does (runc's GetExecUser with uid 0, gid 0, home "/"
 * as defaults): a numeric user absent from passwd keeps gid 0 and home "/"; without an explicit
 * group the supplementary groups are the /etc/group entries listing the user's name; the groups
 * set is always the primary gid followed by those. Every resulting id must be at most 2^31-1, as
 * runc requires: above it the engine refuses to start the container (and setresuid(-1, ...)
 * would change nothing, leaving the target root). */
#include "sensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse_id(const char *s, unsigned long *out)
{
	char *end;
	if (!*s || *s < '0' || *s > '9')
		return -1;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || v > 0xfffffffful)
		return -1;
	*out = v;
	return 0;
}

/* Splits a line into up to max ':'-separated fields (in place); returns the field count. */
static int fields(char *line, char **f, int max)
{
	int n = 0;
	f[n++] = line;
	for (char *p = line; *p && n < max; p++)
		if (*p == ':') {
			*p = 0;
			f[n++] = p + 1;
		}
	return n;
}

/* Calls fn for each line of a NUL-terminated text copy; stops when fn returns non-zero. */
static int each_line(const char *text, int (*fn)(char *line, void *ctx), void *ctx)
{
	if (!text)
		return 0;
	char *copy = strdup(text), *save = NULL;
	int r = 0;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);
		if (len && line[len - 1] == '\r')
			line[len - 1] = 0;
		if (line[0] == '#' || !line[0])
			continue;
		if ((r = fn(line, ctx)) != 0)
			break;
	}
	free(copy);
	return r;
}

struct pw_match {
	const char *name;
	int by_id;
	unsigned long id;
	char matched[256];
	struct user_spec *u;
};

static int match_passwd(char *line, void *ctx)
{
	struct pw_match *m = ctx;
	char *f[7];
	unsigned long uid, gid;
	if (fields(line, f, 7) < 7 || parse_id(f[2], &uid) || parse_id(f[3], &gid))
		return 0;
	if (m->by_id ? uid != m->id : strcmp(f[0], m->name) != 0)
		return 0;
	m->u->uid = (uid_t)uid;
	m->u->gid = (gid_t)gid;
	snprintf(m->u->home, sizeof m->u->home, "%s", f[5]);
	snprintf(m->matched, sizeof m->matched, "%s", f[0]);
	return 1;
}

struct gr_match {
	const char *name;
	int by_id;
	unsigned long id;
	int found;
	gid_t gid;
};

static int match_group(char *line, void *ctx)
{
	struct gr_match *m = ctx;
	char *f[4];
	unsigned long gid;
	if (fields(line, f, 4) < 3 || parse_id(f[2], &gid))
		return 0;
	if (m->by_id ? gid != m->id : strcmp(f[0], m->name) != 0)
		return 0;
	m->found = 1;
	m->gid = (gid_t)gid;
	return 1;
}

struct member_match {
	const char *user;
	struct user_spec *u;
};

static int match_member(char *line, void *ctx)
{
	struct member_match *m = ctx;
	char *f[4], *save = NULL;
	unsigned long gid;
	if (fields(line, f, 4) < 4 || parse_id(f[2], &gid))
		return 0;
	for (char *name = strtok_r(f[3], ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (strcmp(name, m->user) != 0)
			continue;
		for (int i = 0; i < m->u->ngroups; i++)
			if (m->u->groups[i] == (gid_t)gid)
				return 0;
		if (m->u->ngroups < MAX_GROUPS)
			m->u->groups[m->u->ngroups++] = (gid_t)gid;
		return 0;
	}
	return 0;
}

#define MAX_ID 0x7fffffffu /* runc's limit */

/* The engine's refusal of a uid or gid above MAX_ID. (Supplementary groups from /etc/group are
 * not checked, as the engine does not check them; setgroups refuses (gid_t)-1 itself.) */
static void check_range(struct user_spec *u)
{
	if (u->uid > MAX_ID || u->gid > MAX_ID)
		snprintf(u->error, sizeof u->error, "uids and gids must be in range 0-%u", MAX_ID);
}

static void resolve(const char *spec, const char *passwd, const char *group, struct user_spec *u);

void user_resolve(const char *spec, const char *passwd, const char *group, struct user_spec *u)
{
	resolve(spec, passwd, group, u);
	if (!u->error[0])
		check_range(u);
}

static void resolve(const char *spec, const char *passwd, const char *group, struct user_spec *u)
{
	char user[256], grp[256];
	const char *colon = strchr(spec, ':');
	memset(u, 0, sizeof *u);
	snprintf(u->home, sizeof u->home, "/");
	if (colon) {
		snprintf(user, sizeof user, "%.*s", (int)(colon - spec), spec);
		snprintf(grp, sizeof grp, "%s", colon + 1);
	} else {
		snprintf(user, sizeof user, "%s", spec);
		grp[0] = 0;
	}
	if (!user[0])
		snprintf(user, sizeof user, "0");

	struct pw_match pm = {user, 0, 0, "", u};
	pm.by_id = parse_id(user, &pm.id) == 0;
	if (!each_line(passwd, match_passwd, &pm)) {
		if (!pm.by_id) {
			snprintf(u->error, sizeof u->error,
				 "unable to find user %s: no matching entries in passwd file", user);
			return;
		}
		u->uid = (uid_t)pm.id;
	}
	if (grp[0]) {
		struct gr_match gm = {grp, 0, 0, 0, 0};
		gm.by_id = parse_id(grp, &gm.id) == 0;
		each_line(group, match_group, &gm);
		if (!gm.found && !gm.by_id) {
			snprintf(u->error, sizeof u->error,
				 "unable to find group %s: no matching entries in group file", grp);
			return;
		}
		u->gid = gm.found ? gm.gid : (gid_t)gm.id;
		u->groups[u->ngroups++] = u->gid;
		return;
	}
	u->groups[u->ngroups++] = u->gid;
	if (pm.matched[0]) {
		struct member_match mm = {pm.matched, u};
		each_line(group, match_member, &mm);
	}
}

/* After the switch: the real, effective and saved ids are the user's and the groups are the
 * user's groups, or the target must not run (fail closed). */
int user_verify(const struct user_spec *u)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid, groups[MAX_GROUPS + 1];
	if (getresuid(&ruid, &euid, &suid) != 0 || getresgid(&rgid, &egid, &sgid) != 0)
		return -1;
	if (ruid != u->uid || euid != u->uid || suid != u->uid || rgid != u->gid ||
	    egid != u->gid || sgid != u->gid)
		return -1;
	int n = getgroups(MAX_GROUPS + 1, groups);
	if (n != u->ngroups)
		return -1;
	for (int i = 0; i < n; i++) { /* the kernel keeps the list sorted: compare as sets */
		int found = 0;
		for (int j = 0; j < u->ngroups; j++)
			found |= groups[i] == u->groups[j];
		if (!found)
			return -1;
	}
	return 0;
}
