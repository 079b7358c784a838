/* test_volmsg.c - camera profiles (dockd/volume/profile.h, [profile NAME] in
 * dockd.conf) and the volume reader channel's messages (dockd/volume/volmsg.h):
 * matching (case-insensitive, '*' never crosses '/', directories entered
 * only on a pattern's way), refused names and patterns, config errors
 * naming the key, round trips, and refusal of malformed messages. Also
 * replays the fuzzer's seeds. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../dockd/core/config.h" /* custody/ has a config.h too */
#include "volmsg.h"

static uint8_t buf[LINKMSG_HDR_LEN + LINKMSG_SMALL_MAX];

static int decode(const uint8_t *b, size_t n, struct volmsg *m)
{
	struct linkmsg_hdr h;
	int r = volmsg_hdr_decode(b, &h);

	if (r < 0)
		return r;
	if (h.length != n - LINKMSG_HDR_LEN)
		return -EMSGSIZE;
	return volmsg_decode(&h, b + LINKMSG_HDR_LEN, m);
}

static void test_generic_profile(void **state)
{
	struct msc_profile p;

	(void)state;
	profile_generic(&p);
	assert_string_equal(p.name, "generic-dcim");
	assert_int_equal(profile_match(&p, "DCIM/100MEDIA/VID0001.MP4"), PROFILE_RECORDING);
	assert_int_equal(profile_match(&p, "dcim/100media/vid0001.mp4"), PROFILE_RECORDING);
	assert_int_equal(profile_match(&p, "DCIM/100MEDIA/VID0001.GPS"), PROFILE_SIDECAR);
	assert_int_equal(profile_match(&p, "DCIM/100MEDIA/NOTES.TXT"), PROFILE_NONE);
	assert_int_equal(profile_match(&p, "DCIM/A/B/VID.MP4"), PROFILE_NONE); /* '*' is one level */
	assert_int_equal(profile_match(&p, "ROOT.MP4"), PROFILE_NONE);
	assert_int_equal(profile_match(&p, "DCIM/100MEDIA/A..B.MP4"), PROFILE_NONE);
	assert_int_equal(profile_match(&p, "DCIM/100MEDIA/.HIDDEN.MP4"), PROFILE_NONE);
	assert_int_equal(profile_match(&p, "/DCIM/100MEDIA/V.MP4"), PROFILE_NONE);
	assert_int_equal(profile_match(&p, "DCIM//100MEDIA/V.MP4"), PROFILE_NONE);
	assert_true(profile_dir_wanted(&p, ""));
	assert_true(profile_dir_wanted(&p, "DCIM"));
	assert_true(profile_dir_wanted(&p, "DCIM/100MEDIA"));
	assert_false(profile_dir_wanted(&p, "DCIM/100MEDIA/DEEP"));
	assert_false(profile_dir_wanted(&p, "MISC"));
}

static void test_names_and_patterns(void **state)
{
	(void)state;
	assert_true(profile_name_ok("VID0001.MP4"));
	assert_false(profile_name_ok(".."));
	assert_false(profile_name_ok("."));
	assert_false(profile_name_ok("a..b"));
	assert_false(profile_name_ok("a/b"));
	assert_false(profile_name_ok("a\\b"));
	assert_false(profile_name_ok("a\nb"));
	assert_false(profile_name_ok(""));
	assert_true(profile_pattern_ok("DCIM/*/*.MP4"));
	assert_false(profile_pattern_ok("../*.MP4"));
	assert_false(profile_pattern_ok("DCIM/**/x"));
	assert_false(profile_pattern_ok("/DCIM/*.MP4"));
	assert_false(profile_pattern_ok("a/b/c/d/e/f/g/h/i"));
}

static const char *conf_head =
	"[dock]\nid = D\nagency_id = A\nstate_dir = /tmp/s\nvault_dir = /tmp/v\n"
	"[encryption]\nrecipients = /tmp/a.pub\n";

static int load(const char *extra, struct dock_config *c, char *err, size_t cap)
{
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", conf_head, extra);
	return dock_config_load_string("t.conf", text, c, err, cap);
}

static void test_config(void **state)
{
	struct dock_config *c = calloc(1, sizeof(*c));
	const struct msc_profile *p;
	char err[256];

	(void)state;
	assert_non_null(c);
	assert_int_equal(load("", c, err, sizeof(err)), 0);
	assert_non_null(dock_config_profile(c, "generic-dcim"));
	assert_int_equal(load("[profile acme]\nrecordings = VIDEO/*.MP4, VIDEO/*.AVI\n"
			      "recordings = EXTRA/*.MP4\nsidecars = VIDEO/*.GPS\nfile_tz = -05:30\n"
			      "id_file = SYS/ID.TXT\ndelete_after_release = no\nmax_files = 50\n",
			      c, err, sizeof(err)), 0);
	p = dock_config_profile(c, "acme");
	assert_non_null(p);
	assert_int_equal(p->n_rec, 3);
	assert_int_equal(p->n_side, 1);
	assert_int_equal(p->tz_offset_s, -(5 * 3600 + 30 * 60));
	assert_string_equal(p->id_file, "SYS/ID.TXT");
	assert_false(p->delete_after_release);
	assert_int_equal(p->max_files, 50);
	assert_int_equal(profile_match(p, "extra/x.mp4"), PROFILE_RECORDING);
	assert_int_equal(profile_match(p, "sys/id.txt"), PROFILE_ID);
	assert_true(profile_dir_wanted(p, "SYS"));
	assert_int_equal(load("[profile x]\nrecordings = A/*.MP4\nid_file = SYS/*.ID\n", c, err,
			      sizeof(err)), -EINVAL); /* no wildcard in id_file */
	/* redefining the built-in one replaces it */
	assert_int_equal(load("[profile generic-dcim]\nrecordings = X/*.MP4\n", c, err,
			      sizeof(err)), 0);
	p = dock_config_profile(c, "generic-dcim");
	assert_int_equal(p->n_rec, 1);
	assert_int_equal(p->n_side, 0);
	/* errors name the key */
	assert_int_equal(load("[profile x]\nrecordings = ../*.MP4\n", c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "[profile x] recordings"));
	assert_int_equal(load("[profile x]\nrecordings = A/*.MP4\nfile_tz = +25:00\n", c, err,
			      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "file_tz"));
	assert_int_equal(load("[profile x]\nsidecars = A/*.GPS\n", c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "needs at least one recordings pattern"));
	assert_int_equal(load("[profile x]\nmax_depth = 9\n", c, err, sizeof(err)), -EINVAL);
	assert_int_equal(load("[profile bad/name]\nrecordings = A/*.MP4\n", c, err, sizeof(err)),
			 -EINVAL);
	free(c);
}

static void test_roundtrip(void **state)
{
	struct volmsg m = { .type = VM_FILE }, out;
	struct msc_profile p, q;
	size_t n;

	(void)state;
	m.u.file.index = 7;
	m.u.file.kind = PROFILE_SIDECAR;
	m.u.file.size = 123;
	m.u.file.mtime_s = -5;
	snprintf(m.u.file.path, sizeof(m.u.file.path), "DCIM/100MEDIA/V.GPS");
	assert_int_equal(volmsg_encode(&m, buf, sizeof(buf), &n), 0);
	assert_int_equal(buf[0], VOLMSG_VERSION);
	assert_int_equal(buf[1], VM_FILE);
	assert_int_equal(decode(buf, n, &out), 0);
	assert_int_equal(out.u.file.index, 7);
	assert_int_equal(out.u.file.mtime_s, -5);
	assert_string_equal(out.u.file.path, "DCIM/100MEDIA/V.GPS");
	profile_generic(&p);
	volmsg_list_from_profile(&p, &m);
	assert_int_equal(volmsg_encode(&m, buf, sizeof(buf), &n), 0);
	assert_int_equal(decode(buf, n, &out), 0);
	assert_int_equal(volmsg_list_to_profile(&out, &q), 0);
	assert_int_equal(q.n_rec, p.n_rec);
	assert_int_equal(q.n_side, p.n_side);
	assert_string_equal(q.id_file, "");
	snprintf(p.id_file, sizeof(p.id_file), "MISC/DEVICE.ID");
	volmsg_list_from_profile(&p, &m);
	assert_int_equal(volmsg_encode(&m, buf, sizeof(buf), &n), 0);
	assert_int_equal(decode(buf, n, &out), 0);
	assert_int_equal(volmsg_list_to_profile(&out, &q), 0);
	assert_string_equal(q.id_file, "MISC/DEVICE.ID");
	assert_int_equal(profile_match(&q, "misc/device.id"), PROFILE_ID);
	assert_int_equal(profile_match(&q, "DCIM/1/A.MOV"), PROFILE_RECORDING);
}

static void test_refusals(void **state)
{
	struct volmsg m = { .type = VM_FILE }, out;
	size_t n;

	(void)state;
	m.u.file.kind = PROFILE_RECORDING;
	snprintf(m.u.file.path, sizeof(m.u.file.path), "DCIM/../etc/passwd");
	assert_int_equal(volmsg_encode(&m, buf, sizeof(buf), &n), 0);
	assert_int_equal(decode(buf, n, &out), -EPROTO); /* '..' component */
	snprintf(m.u.file.path, sizeof(m.u.file.path), "DCIM/A.MP4");
	m.u.file.kind = 4;
	assert_int_equal(volmsg_encode(&m, buf, sizeof(buf), &n), 0);
	assert_int_equal(decode(buf, n, &out), -EPROTO); /* unknown kind */
	m.u.file.kind = PROFILE_RECORDING;
	assert_int_equal(volmsg_encode(&m, buf, sizeof(buf), &n), 0);
	buf[n - 3] = 0;                                   /* a NUL inside the path */
	assert_int_equal(decode(buf, n, &out), -EPROTO);
	assert_int_equal(volmsg_encode(&m, buf, sizeof(buf), &n), 0);
	buf[4]++;                                         /* one byte too long */
	buf[n] = 0;
	assert_int_equal(decode(buf, n + 1, &out), -EPROTO);
	buf[4]--;
	buf[0] = 1;                                       /* version */
	assert_int_equal(decode(buf, n, &out), -EPROTO);
	buf[0] = VOLMSG_VERSION;
	buf[1] = 3;                                       /* a linkmsg type */
	assert_int_equal(decode(buf, n, &out), -EPROTO);
	/* DATA over its cap */
	memcpy(buf, (uint8_t[]){ VOLMSG_VERSION, VM_DATA, 0, 0, 0, 0, 0, 0 }, 8);
	{
		uint32_t big = LINKMSG_DATA_MAX + 1;
		struct linkmsg_hdr h;
		for (int i = 0; i < 4; i++)
			buf[4 + i] = (uint8_t)(big >> (8 * i));
		assert_int_equal(volmsg_hdr_decode(buf, &h), -EPROTO);
	}
	/* a positive result */
	m.type = VM_READ_DONE;
	m.u.result = 0;
	assert_int_equal(volmsg_encode(&m, buf, sizeof(buf), &n), 0);
	buf[8] = 1;
	assert_int_equal(decode(buf, n, &out), -EPROTO);
}

static void test_seeds(void **state)
{
	const char *dir = getenv("TOP") ? getenv("TOP") : ".";
	char path[1024];
	DIR *d;
	struct dirent *e;
	int seen = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/fuzz_volmsg", dir);
	d = opendir(path);
	if (!d)
		skip();
	while ((e = readdir(d))) {
		char f[1400];
		FILE *fp;
		size_t n;
		struct volmsg m;

		if (e->d_name[0] == '.' || !strcmp(e->d_name, "stream"))
			continue;
		snprintf(f, sizeof(f), "%s/%s", path, e->d_name);
		fp = fopen(f, "rb");
		assert_non_null(fp);
		n = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		if (decode(buf, n, &m) != 0)
			fail_msg("seed %s does not decode", e->d_name);
		seen++;
	}
	closedir(d);
	assert_true(seen >= 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generic_profile),
		cmocka_unit_test(test_names_and_patterns),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_seeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
