/* s3tool - a command line over dockd's S3 client (dockd/store/s3/s3.h), for tests
 * and humans.
 *
 *   s3tool --endpoint URL --bucket B --creds FILE [--region R] [--ca FILE]
 *          [--virtual] [--attempts N] CMD ARGS
 *
 *   put KEY FILE [--lock-mode M --retain-until EPOCH] [--legal-hold] [--tag k=v]...
 *       [--md5 HEX --sha256 HEX]   (the body's digests as a caller that hashed
 *                                   it already passes them: struct s3_body)
 *   get KEY OUT [--version V]         head KEY [--version V]
 *   sha KEY [--version V]             rm KEY [--version V]
 *   mkbucket [--lock]                 lock-status
 *   tag KEY k=v...                    tags KEY
 *   legal-hold KEY on|off [--version V]
 *   retention KEY MODE UNTIL_EPOCH [--version V]
 *   uploads [PREFIX]                  abort KEY ID
 *   mpu-start KEY                     parts KEY ID [--page N]
 *   mpu KEY FILE --part-mb N [--page N]  (create, upload, list, complete, head)
 *
 * Exit 0 on success, 1 when the operation failed (one line on stderr
 * naming the S3 code and errno), 2 for a usage error.
 * S3_TEST_CLOCK_SKEW_S (environment) shifts the signing clock: tests only.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s3.h"

static struct s3_conf conf;
static struct s3_client *cli;
static const char *cmd_name = "";

static int usage(void)
{
	fprintf(stderr,
		"usage: s3tool --endpoint URL --bucket B --creds FILE [--region R] [--ca FILE]\n"
		"              [--virtual] [--attempts N] CMD ARGS (see tests/tools/s3tool.c)\n");
	return 2;
}

static int fail(int r, const struct s3_error *e, const char *what)
{
	fprintf(stderr, "s3tool: %s %s: %s (HTTP %ld, %s, %u attempt%s): %s%s%s\n", cmd_name,
		what, e->code[0] ? e->code : "error", e->http_status, strerror(-r), e->attempts,
		e->attempts == 1 ? "" : "s", e->message, e->request_id[0] ? " request " : "",
		e->request_id);
	return 1;
}

/* Consume "--name VALUE" from argv (anywhere after the command). */
static const char *opt(int *argc, char **argv, const char *name, int has_value)
{
	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], name) != 0)
			continue;
		const char *v = has_value ? (i + 1 < *argc ? argv[i + 1] : NULL) : argv[i];
		if (!v)
			return NULL;
		int k = has_value ? 2 : 1;
		memmove(&argv[i], &argv[i + k], (size_t)(*argc - i - k + 1) * sizeof(char *));
		*argc -= k;
		return v;
	}
	return NULL;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static int parse_tag(const char *s, struct s3_tag *t)
{
	const char *eq = strchr(s, '=');
	if (!eq || eq == s || (size_t)(eq - s) >= sizeof(t->key) ||
	    strlen(eq + 1) >= sizeof(t->value))
		return -1;
	memset(t, 0, sizeof(*t));
	memcpy(t->key, s, (size_t)(eq - s));
	memcpy(t->value, eq + 1, strlen(eq + 1));
	return 0;
}

static void print_info(const struct s3_obj_info *i)
{
	printf("size %" PRIu64 "\netag %s\nversion %s\nlock-mode %s\nretain-until %lld\n"
	       "legal-hold %s\n", i->size, i->etag, i->version_id[0] ? i->version_id : "-",
	       i->lock_mode[0] ? i->lock_mode : "-", (long long)i->retain_until,
	       i->legal_hold ? "on" : "off");
}

static int unhex(const char *h, uint8_t *out, size_t n)
{
	if (strlen(h) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static int open_body(const char *path, struct s3_body *b)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "s3tool: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memset(b, 0, sizeof(*b));
	b->fd = fd;
	b->len = (uint64_t)st.st_size;
	return 0;
}

static int cmd_put(int argc, char **argv)
{
	struct s3_put_opts o = { 0 };
	struct s3_tag tags[S3_TAGS_MAX];
	struct s3_obj_info info;
	struct s3_error e;
	struct s3_body b;
	const char *v, *md5_hex, *sha_hex;
	uint8_t md5[16], sha[32];
	uint64_t until;
	int r;

	o.lock_mode = opt(&argc, argv, "--lock-mode", 1);
	if ((v = opt(&argc, argv, "--retain-until", 1))) {
		if (parse_u64(v, &until))
			return usage();
		o.retain_until = (time_t)until;
	}
	o.legal_hold = opt(&argc, argv, "--legal-hold", 0) != NULL;
	while ((v = opt(&argc, argv, "--tag", 1))) {
		if (o.n_tags == S3_TAGS_MAX || parse_tag(v, &tags[o.n_tags]))
			return usage();
		o.n_tags++;
	}
	o.tags = tags;
	md5_hex = opt(&argc, argv, "--md5", 1);
	sha_hex = opt(&argc, argv, "--sha256", 1);
	if (argc != 2 || !md5_hex != !sha_hex ||
	    (md5_hex && (unhex(md5_hex, md5, 16) || unhex(sha_hex, sha, 32))))
		return usage();
	if (open_body(argv[1], &b))
		return 1;
	if (md5_hex) {
		b.md5 = md5;
		b.sha256 = sha;
	}
	r = s3_put_object(cli, argv[0], &b, &o, &info, &e);
	close(b.fd);
	if (r)
		return fail(r, &e, argv[0]);
	print_info(&info);
	return 0;
}

static int cmd_get(int argc, char **argv)
{
	const char *ver = opt(&argc, argv, "--version", 1);
	struct s3_error e;
	int fd, r;

	if (argc != 2)
		return usage();
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "s3tool: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	r = s3_get_object_fd(cli, argv[0], ver, fd, UINT64_MAX, &e);
	if (close(fd) != 0 && r == 0)
		r = -EIO;
	return r ? fail(r, &e, argv[0]) : 0;
}

static int cmd_sha(int argc, char **argv)
{
	const char *ver = opt(&argc, argv, "--version", 1);
	struct s3_error e;
	uint8_t sha[32];
	uint64_t size;
	int r;

	if (argc != 1)
		return usage();
	r = s3_get_object_sha256(cli, argv[0], ver, &size, sha, &e);
	if (r)
		return fail(r, &e, argv[0]);
	for (int i = 0; i < 32; i++)
		printf("%02x", sha[i]);
	printf(" %" PRIu64 "\n", size);
	return 0;
}

static int cmd_head(int argc, char **argv)
{
	const char *ver = opt(&argc, argv, "--version", 1);
	struct s3_obj_info info;
	struct s3_error e;
	int r;

	if (argc != 1)
		return usage();
	r = s3_head_object(cli, argv[0], ver, &info, &e);
	if (r)
		return fail(r, &e, argv[0]);
	print_info(&info);
	return 0;
}

static int cmd_rm(int argc, char **argv)
{
	const char *ver = opt(&argc, argv, "--version", 1);
	struct s3_error e;
	int r;

	if (argc != 1)
		return usage();
	r = s3_delete_object(cli, argv[0], ver, &e);
	return r ? fail(r, &e, argv[0]) : 0;
}

static int cmd_bucket(int argc, char **argv, int mk)
{
	struct s3_error e;
	bool lock = opt(&argc, argv, "--lock", 0) != NULL, on = false;
	int r;

	if (argc != 0)
		return usage();
	if (mk)
		r = s3_create_bucket(cli, lock, &e);
	else
		r = s3_bucket_lock_enabled(cli, &on, &e);
	if (r)
		return fail(r, &e, conf.bucket);
	if (!mk)
		printf("object-lock %s\n", on ? "enabled" : "disabled");
	return 0;
}

static int cmd_tag(int argc, char **argv)
{
	struct s3_tag tags[S3_TAGS_MAX];
	struct s3_error e;
	int r;

	if (argc < 1 || argc - 1 > S3_TAGS_MAX)
		return usage();
	for (int i = 1; i < argc; i++)
		if (parse_tag(argv[i], &tags[i - 1]))
			return usage();
	r = s3_put_tagging(cli, argv[0], NULL, tags, (size_t)argc - 1, &e);
	return r ? fail(r, &e, argv[0]) : 0;
}

static int cmd_tags(int argc, char **argv)
{
	struct s3_tag tags[S3_TAGS_MAX];
	struct s3_error e;
	size_t n = 0;
	int r;

	if (argc != 1)
		return usage();
	r = s3_get_tagging(cli, argv[0], NULL, tags, S3_TAGS_MAX, &n, &e);
	if (r)
		return fail(r, &e, argv[0]);
	for (size_t i = 0; i < n; i++)
		printf("%s=%s\n", tags[i].key, tags[i].value);
	return 0;
}

static int cmd_legal_hold(int argc, char **argv)
{
	const char *ver = opt(&argc, argv, "--version", 1);
	struct s3_error e;
	int r;

	if (argc != 2 || (strcmp(argv[1], "on") && strcmp(argv[1], "off")))
		return usage();
	r = s3_put_legal_hold(cli, argv[0], ver, strcmp(argv[1], "on") == 0, &e);
	return r ? fail(r, &e, argv[0]) : 0;
}

static int cmd_retention(int argc, char **argv)
{
	const char *ver = opt(&argc, argv, "--version", 1);
	struct s3_error e;
	uint64_t until;
	int r;

	if (argc != 3 || parse_u64(argv[2], &until))
		return usage();
	r = s3_put_retention(cli, argv[0], ver, argv[1], (time_t)until, &e);
	return r ? fail(r, &e, argv[0]) : 0;
}

static int cmd_uploads(int argc, char **argv)
{
	static struct s3_upload ups[100];
	static char km[S3_KEY_MAX + 1], im[S3_UPLOAD_ID_MAX + 1];
	struct s3_error e;
	bool more = true;
	size_t n;
	int r;

	if (argc > 1)
		return usage();
	while (more) {
		r = s3_mpu_list(cli, argc ? argv[0] : NULL, km, im, ups, 100, &n, &more, &e);
		if (r)
			return fail(r, &e, "list");
		for (size_t i = 0; i < n; i++)
			printf("%s %s %lld\n", ups[i].key, ups[i].upload_id,
			       (long long)ups[i].initiated);
	}
	return 0;
}

static int cmd_abort(int argc, char **argv)
{
	struct s3_error e;
	int r;
	if (argc != 2)
		return usage();
	r = s3_mpu_abort(cli, argv[0], argv[1], &e);
	return r ? fail(r, &e, argv[0]) : 0;
}

static int cmd_mpu_start(int argc, char **argv)
{
	char id[S3_UPLOAD_ID_MAX + 1];
	struct s3_error e;
	int r;
	if (argc != 1)
		return usage();
	r = s3_mpu_create(cli, argv[0], NULL, id, &e);
	if (r)
		return fail(r, &e, argv[0]);
	printf("%s\n", id);
	return 0;
}

/* All parts of an upload, page by page; prints "pages N". */
static int list_all(const char *key, const char *id, size_t page, struct s3_part *all,
		    size_t *n_all)
{
	unsigned marker = 0, pages = 0;
	struct s3_error e;
	bool more = true;
	size_t n;
	int r;

	*n_all = 0;
	while (more) {
		if (*n_all + page > S3_MAX_PARTS + 1000)
			return 1;
		r = s3_mpu_list_parts(cli, key, id, &marker, all + *n_all, page, &n, &more, &e);
		if (r)
			return fail(r, &e, key);
		*n_all += n;
		pages++;
	}
	printf("pages %u\n", pages);
	return 0;
}

static int cmd_parts(int argc, char **argv)
{
	static struct s3_part parts[S3_MAX_PARTS + 1000];
	const char *pg = opt(&argc, argv, "--page", 1);
	uint64_t page = 1000;
	size_t n;

	if (argc != 2 || (pg && (parse_u64(pg, &page) || page == 0 || page > 1000)))
		return usage();
	if (list_all(argv[0], argv[1], (size_t)page, parts, &n))
		return 1;
	for (size_t i = 0; i < n; i++)
		printf("%u %" PRIu64 " %s\n", parts[i].number, parts[i].size, parts[i].etag);
	return 0;
}

static int cmd_mpu(int argc, char **argv)
{
	static struct s3_part sent[S3_MAX_PARTS], listed[S3_MAX_PARTS + 1000];
	const char *mb = opt(&argc, argv, "--part-mb", 1), *pg = opt(&argc, argv, "--page", 1);
	char id[S3_UPLOAD_ID_MAX + 1];
	struct s3_obj_info info;
	struct s3_error e;
	struct s3_body b;
	uint64_t part_mb, page = 1000, psz;
	size_t np = 0, nl;
	int r;

	if (argc != 2 || !mb || parse_u64(mb, &part_mb) || part_mb == 0 || part_mb > 5120 ||
	    (pg && (parse_u64(pg, &page) || page == 0 || page > 1000)))
		return usage();
	if (open_body(argv[1], &b))
		return 1;
	psz = part_mb << 20;
	r = s3_mpu_create(cli, argv[0], NULL, id, &e);
	if (r) {
		close(b.fd);
		return fail(r, &e, argv[0]);
	}
	printf("upload-id %s\n", id);
	for (uint64_t off = 0; off < b.len || (b.len == 0 && np == 0); off += psz) {
		struct s3_body pb = { .fd = b.fd, .off = off,
				      .len = b.len - off < psz ? b.len - off : psz };
		if (np == S3_MAX_PARTS) {
			close(b.fd);
			fprintf(stderr, "s3tool: too many parts\n");
			return 1;
		}
		sent[np].number = (unsigned)np + 1;
		sent[np].size = pb.len;
		r = s3_mpu_upload_part(cli, argv[0], id, sent[np].number, &pb, sent[np].etag, &e);
		if (r) {
			close(b.fd);
			return fail(r, &e, argv[0]);
		}
		np++;
	}
	close(b.fd);
	if (list_all(argv[0], id, (size_t)page, listed, &nl))
		return 1;
	if (nl != np) {
		fprintf(stderr, "s3tool: ListParts shows %zu parts, %zu were sent\n", nl, np);
		return 1;
	}
	for (size_t i = 0; i < np; i++)
		if (listed[i].number != sent[i].number || listed[i].size != sent[i].size ||
		    strcmp(listed[i].etag, sent[i].etag) != 0) {
			fprintf(stderr, "s3tool: part %zu differs in ListParts\n", i + 1);
			return 1;
		}
	printf("parts %zu\n", np);
	r = s3_mpu_complete(cli, argv[0], id, sent, np, &info, &e);
	if (r)
		return fail(r, &e, argv[0]);
	r = s3_head_object(cli, argv[0], NULL, &info, &e);
	if (r)
		return fail(r, &e, argv[0]);
	print_info(&info);
	return 0;
}

static int run(int argc, char **argv)
{
	const char *c = argv[0];
	argc--, argv++;
	if (!strcmp(c, "put")) return cmd_put(argc, argv);
	if (!strcmp(c, "get")) return cmd_get(argc, argv);
	if (!strcmp(c, "sha")) return cmd_sha(argc, argv);
	if (!strcmp(c, "head")) return cmd_head(argc, argv);
	if (!strcmp(c, "rm")) return cmd_rm(argc, argv);
	if (!strcmp(c, "mkbucket")) return cmd_bucket(argc, argv, 1);
	if (!strcmp(c, "lock-status")) return cmd_bucket(argc, argv, 0);
	if (!strcmp(c, "tag")) return cmd_tag(argc, argv);
	if (!strcmp(c, "tags")) return cmd_tags(argc, argv);
	if (!strcmp(c, "legal-hold")) return cmd_legal_hold(argc, argv);
	if (!strcmp(c, "retention")) return cmd_retention(argc, argv);
	if (!strcmp(c, "uploads")) return cmd_uploads(argc, argv);
	if (!strcmp(c, "abort")) return cmd_abort(argc, argv);
	if (!strcmp(c, "mpu-start")) return cmd_mpu_start(argc, argv);
	if (!strcmp(c, "parts")) return cmd_parts(argc, argv);
	if (!strcmp(c, "mpu")) return cmd_mpu(argc, argv);
	return usage();
}

static int set_str(char *dst, size_t cap, const char *v)
{
	if (!v || strlen(v) >= cap)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

int main(int argc, char **argv)
{
	const char *creds = NULL, *skew = getenv("S3_TEST_CLOCK_SKEW_S");
	char err[512];
	int i, r;

	conf.path_style = true;
	snprintf(conf.region, sizeof(conf.region), "us-east-1");
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--virtual")) {
			conf.path_style = false;
			continue;
		}
		if (!v)
			return usage();
		i++;
		if (!strcmp(o, "--endpoint")) r = set_str(conf.endpoint, sizeof(conf.endpoint), v);
		else if (!strcmp(o, "--bucket")) r = set_str(conf.bucket, sizeof(conf.bucket), v);
		else if (!strcmp(o, "--region")) r = set_str(conf.region, sizeof(conf.region), v);
		else if (!strcmp(o, "--ca")) r = set_str(conf.ca_file, sizeof(conf.ca_file), v);
		else if (!strcmp(o, "--creds")) r = (creds = v) ? 0 : -1;
		else if (!strcmp(o, "--attempts")) r = (conf.max_attempts = (unsigned)atoi(v)) ? 0 : -1;
		else r = -1;
		if (r)
			return usage();
	}
	if (i >= argc || !creds || !conf.endpoint[0] || !conf.bucket[0])
		return usage();
	cmd_name = argv[i];
	if (skew)
		conf.clock_skew_s = atoi(skew);
	r = s3_creds_load(creds, &conf.creds, err, sizeof(err));
	if (r) {
		fprintf(stderr, "s3tool: credentials: %s\n", err);
		return 1;
	}
	r = s3_client_new(&conf, &cli, err, sizeof(err));
	if (r) {
		s3_creds_wipe(&conf.creds);
		fprintf(stderr, "s3tool: %s\n", err);
		return 2;
	}
	r = run(argc - i, argv + i);
	s3_client_free(cli);
	s3_creds_wipe(&conf.creds);
	return r;
}
