/* Tests for dockd/store/s3/s3xml.c: real RGW 16.2 replies (captured from the test
 * RGW, also in tests/fuzz/corpus/fuzz_s3xml/) and hostile documents. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "s3xml.h"

#define X(s) s, strlen(s)
#define HDR "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
#define NS " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

static const char rgw_parts[] = HDR "<ListPartsResult" NS "><Bucket>dev1</Bucket><Key>mp x</Key>"
	"<UploadId>2~fGPNg3_DsX9lOGmeJcFTL_GjbrL9bdW</UploadId><StorageClass>STANDARD"
	"</StorageClass><PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>1"
	"</NextPartNumberMarker><MaxParts>1</MaxParts><IsTruncated>true</IsTruncated><Owner>"
	"<ID></ID><DisplayName></DisplayName></Owner><Part><LastModified>2026-11-22T05:10:56.233Z"
	"</LastModified><PartNumber>1</PartNumber><ETag>&quot;5f363e0e58a95f06cbe9bbc662c5dfb6"
	"&quot;</ETag><Size>5242880</Size></Part></ListPartsResult>";

static const char rgw_uploads[] = HDR "<ListMultipartUploadsResult" NS "><Bucket>dev1</Bucket>"
	"<NextKeyMarker>mp x</NextKeyMarker><NextUploadIdMarker>2~fGPNg3_DsX9lOGmeJcFTL_GjbrL9bdW"
	"</NextUploadIdMarker><MaxUploads>1</MaxUploads><IsTruncated>false</IsTruncated><Upload>"
	"<Key>mp x</Key><UploadId>2~fGPNg3_DsX9lOGmeJcFTL_GjbrL9bdW</UploadId><Initiator><ID>dock"
	"</ID><DisplayName>dock</DisplayName></Initiator><Owner><ID>dock</ID><DisplayName>dock"
	"</DisplayName></Owner><StorageClass>STANDARD</StorageClass><Initiated>"
	"2026-11-22T05:10:56.145Z</Initiated></Upload></ListMultipartUploadsResult>";

static const char rgw_invalid_part[] = HDR "<Error><Code>InvalidPart</Code><Message></Message>"
	"<BucketName>dev1</BucketName><RequestId>tx00000d0a834a26391c4fd-006b027960-1012-default"
	"</RequestId><HostId>1012-default-default</HostId></Error>";

static void test_error(void **st)
{
	struct s3xml_error e;
	(void)st;
	assert_int_equal(s3xml_error(X(rgw_invalid_part), &e), 0);
	assert_string_equal(e.code, "InvalidPart");
	assert_string_equal(e.request_id, "tx00000d0a834a26391c4fd-006b027960-1012-default");
	/* not an Error document */
	assert_int_equal(s3xml_error(X(rgw_parts), &e), -EPROTO);
	assert_int_equal(s3xml_error(X("<Error><Message>x</Message></Error>"), &e), -EPROTO);
	assert_int_equal(s3xml_error(X("<html>502 Bad Gateway</html>"), &e), -EPROTO);
	assert_int_equal(s3xml_error(X("not xml"), &e), -EPROTO);
	assert_int_equal(s3xml_error("", 0, &e), -EPROTO);
}

static void test_initiate_complete(void **st)
{
	char id[S3_UPLOAD_ID_MAX + 1] = "untouched", etag[S3_ETAG_MAX + 1];
	struct s3xml_error e;
	(void)st;
	assert_int_equal(s3xml_initiate(X(HDR "<InitiateMultipartUploadResult" NS "><Bucket>dev1"
		"</Bucket><Key>mp x</Key><UploadId>2~fGPNg3_DsX9l</UploadId>"
		"</InitiateMultipartUploadResult>"), id, &e), 0);
	assert_string_equal(id, "2~fGPNg3_DsX9l");
	strcpy(id, "untouched");
	assert_int_equal(s3xml_initiate(X("<InitiateMultipartUploadResult><UploadId></UploadId>"
		"</InitiateMultipartUploadResult>"), id, &e), -EPROTO);
	assert_string_equal(id, "untouched");
	/* CompleteMultipartUpload: ETag quotes removed; RGW 16 sends it empty */
	assert_int_equal(s3xml_complete(X("<CompleteMultipartUploadResult><ETag>\"3858f622-9\""
		"</ETag></CompleteMultipartUploadResult>"), etag, &e), 0);
	assert_string_equal(etag, "3858f622-9");
	assert_int_equal(s3xml_complete(X("<CompleteMultipartUploadResult><ETag></ETag>"
		"</CompleteMultipartUploadResult>"), etag, &e), 0);
	assert_string_equal(etag, "");
	/* the 200-with-an-Error case S3 documents */
	memset(&e, 0, sizeof(e));
	assert_int_equal(s3xml_complete(X(rgw_invalid_part), etag, &e), -ENOMSG);
	assert_string_equal(e.code, "InvalidPart");
	/* wrong document type */
	assert_int_equal(s3xml_complete(X(rgw_parts), etag, &e), -EPROTO);
}

static void test_list_parts(void **st)
{
	struct s3_part p[4];
	size_t n = 99;
	bool tr = false;
	unsigned mk = 0;
	(void)st;
	assert_int_equal(s3xml_list_parts(X(rgw_parts), p, 4, &n, &tr, &mk, NULL), 0);
	assert_int_equal(n, 1);
	assert_true(tr);
	assert_int_equal(mk, 1);
	assert_int_equal(p[0].number, 1);
	assert_int_equal(p[0].size, 5242880);
	assert_string_equal(p[0].etag, "5f363e0e58a95f06cbe9bbc662c5dfb6");
	/* more parts than we asked for */
	assert_int_equal(s3xml_list_parts(X(rgw_parts), p, 0, &n, &tr, &mk, NULL), -EPROTO);
	/* descending, zero, huge numbers, missing fields */
	assert_int_equal(s3xml_list_parts(X("<ListPartsResult><Part><PartNumber>2</PartNumber>"
		"<ETag>a</ETag><Size>1</Size></Part><Part><PartNumber>1</PartNumber><ETag>b</ETag>"
		"<Size>1</Size></Part></ListPartsResult>"), p, 4, &n, &tr, &mk, NULL), -EPROTO);
	assert_int_equal(s3xml_list_parts(X("<ListPartsResult><Part><PartNumber>0</PartNumber>"
		"<ETag>a</ETag><Size>1</Size></Part></ListPartsResult>"), p, 4, &n, &tr, &mk, NULL),
		-EPROTO);
	assert_int_equal(s3xml_list_parts(X("<ListPartsResult><Part><PartNumber>10001"
		"</PartNumber><ETag>a</ETag><Size>1</Size></Part></ListPartsResult>"), p, 4, &n, &tr,
		&mk, NULL), -EPROTO);
	assert_int_equal(s3xml_list_parts(X("<ListPartsResult><Part><PartNumber>1</PartNumber>"
		"<Size>-1</Size><ETag>a</ETag></Part></ListPartsResult>"), p, 4, &n, &tr, &mk, NULL),
		-EPROTO);
	assert_int_equal(s3xml_list_parts(X("<ListPartsResult><Part><PartNumber>1</PartNumber>"
		"<Size>1</Size></Part></ListPartsResult>"), p, 4, &n, &tr, &mk, NULL), -EPROTO);
	/* truncated, but the marker does not move forward */
	assert_int_equal(s3xml_list_parts(X("<ListPartsResult><IsTruncated>true</IsTruncated>"
		"<NextPartNumberMarker>0</NextPartNumberMarker><Part><PartNumber>3</PartNumber>"
		"<ETag>a</ETag><Size>1</Size></Part></ListPartsResult>"), p, 4, &n, &tr, &mk, NULL),
		-EPROTO);
	assert_int_equal(s3xml_list_parts(X("<ListPartsResult><IsTruncated>yes</IsTruncated>"
		"</ListPartsResult>"), p, 4, &n, &tr, &mk, NULL), -EPROTO);
}

static void test_list_uploads(void **st)
{
	struct s3_upload u[2];
	char nk[S3_KEY_MAX + 1], ni[S3_UPLOAD_ID_MAX + 1];
	size_t n;
	bool tr = true;
	(void)st;
	assert_int_equal(s3xml_list_uploads(X(rgw_uploads), u, 2, &n, &tr, nk, ni, NULL), 0);
	assert_int_equal(n, 1);
	assert_false(tr);
	assert_string_equal(u[0].key, "mp x");
	assert_string_equal(u[0].upload_id, "2~fGPNg3_DsX9lOGmeJcFTL_GjbrL9bdW");
	assert_int_equal(u[0].initiated, 1795324256); /* 2026-11-22T05:10:56Z */
	assert_string_equal(nk, "mp x");
	assert_string_equal(ni, "2~fGPNg3_DsX9lOGmeJcFTL_GjbrL9bdW");
	assert_int_equal(s3xml_list_uploads(X("<ListMultipartUploadsResult><Upload><Key>k</Key>"
		"<UploadId>i</UploadId><Initiated>yesterday</Initiated></Upload>"
		"</ListMultipartUploadsResult>"), u, 2, &n, &tr, nk, ni, NULL), -EPROTO);
}

static void test_tagging_lock(void **st)
{
	struct s3_tag t[2];
	size_t n;
	bool en = true;
	struct s3xml_error e;
	(void)st;
	assert_int_equal(s3xml_tagging(X(HDR "<Tagging" NS "><TagSet><Tag><Key>a&amp;b</Key>"
		"<Value>&lt;x&gt;</Value></Tag><Tag><Key>k</Key><Value></Value></Tag></TagSet>"
		"</Tagging>"), t, 2, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(t[0].key, "a&b");
	assert_string_equal(t[0].value, "<x>");
	assert_string_equal(t[1].value, "");
	/* 3 tags into 2 slots */
	assert_int_equal(s3xml_tagging(X("<Tagging><TagSet><Tag><Key>a</Key><Value/></Tag><Tag>"
		"<Key>b</Key><Value/></Tag><Tag><Key>c</Key><Value/></Tag></TagSet></Tagging>"), t, 2,
		&n, NULL), -EPROTO);
	/* a key longer than S3 allows (128) */
	char big[400] = "<Tagging><TagSet><Tag><Key>";
	memset(big + strlen(big), 'k', 200);
	strcpy(big + 27 + 200, "</Key><Value/></Tag></TagSet></Tagging>");
	assert_int_equal(s3xml_tagging(X(big), t, 2, &n, NULL), -EPROTO);
	assert_int_equal(s3xml_object_lock(X(HDR "<ObjectLockConfiguration><ObjectLockEnabled>"
		"Enabled</ObjectLockEnabled></ObjectLockConfiguration>"), &en, NULL), 0);
	assert_true(en);
	assert_int_equal(s3xml_object_lock(X(HDR "<Error><Code>ObjectLockConfigurationNotFoundError"
		"</Code></Error>"), &en, &e), -ENOMSG);
	assert_string_equal(e.code, "ObjectLockConfigurationNotFoundError");
}

static void test_hostile(void **st)
{
	struct s3xml_error e;
	struct s3_tag t[2];
	size_t n;
	(void)st;
	/* DTDs and entities are refused outright: no billion laughs, no XXE */
	assert_int_equal(s3xml_error(X("<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaa\">"
		"<!ENTITY b \"&a;&a;&a;&a;\">]><Error><Code>&b;</Code></Error>"), &e), -EPROTO);
	assert_int_equal(s3xml_tagging(X("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
		"<Tagging><TagSet><Tag><Key>&e;</Key><Value>v</Value></Tag></TagSet></Tagging>"), t, 2,
		&n, NULL), -EPROTO);
	assert_int_equal(s3xml_error(X("<!DOCTYPE Error><Error><Code>x</Code></Error>"), &e),
			 -EPROTO);
	assert_int_equal(s3xml_error(X("<Error><Code>&undefined;</Code></Error>"), &e), -EPROTO);
	/* nesting beyond S3XML_DEPTH_MAX */
	assert_int_equal(s3xml_error(X("<Error><a><b><c><d><e><f><g><h>x</h></g></f></e></d></c>"
		"</b></a><Code>x</Code></Error>"), &e), -EPROTO);
	/* truncated document, trailing garbage, two roots */
	assert_int_equal(s3xml_error(X("<Error><Code>x</Code>"), &e), -EPROTO);
	assert_int_equal(s3xml_error(X("<Error><Code>x</Code></Error><Error/>"), &e), -EPROTO);
	/* over S3_REPLY_MAX */
	size_t big = S3_REPLY_MAX + 1;
	char *p = malloc(big);
	assert_non_null(p);
	memset(p, ' ', big);
	memcpy(p, "<Error><Code>x</Code></Error>", 29);
	assert_int_equal(s3xml_error(p, big, &e), -EPROTO);
	assert_int_equal(s3xml_error(p, big - 1, &e), 0);
	free(p);
	/* an embedded NUL byte */
	assert_int_equal(s3xml_error("<Error><Code>a\0b</Code></Error>", 31, &e), -EPROTO);
}

static void test_time(void **st)
{
	time_t t;
	(void)st;
	assert_int_equal(s3xml_parse_time("2030-01-02T03:04:05Z", &t), 0);
	assert_int_equal(t, 1893553445);
	assert_int_equal(s3xml_parse_time("2030-01-02T03:04:05.123Z", &t), 0);
	assert_int_equal(t, 1893553445);
	assert_int_equal(s3xml_parse_time("2030-01-02T03:04:05", &t), -EPROTO);
	assert_int_equal(s3xml_parse_time("2030-01-02T03:04:05.Z", &t), -EPROTO);
	assert_int_equal(s3xml_parse_time("junk", &t), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_initiate_complete),
		cmocka_unit_test(test_list_parts),
		cmocka_unit_test(test_list_uploads),
		cmocka_unit_test(test_tagging_lock),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
