/* s3_errors.c - what an S3 error reply means for the dock: retry it, back
 * off harder, or stop until someone fixes the configuration or the item
 * (see s3_int.h, s3_classify; the table is docs/storage-s3.md, "Error
 * codes"). Codes are those of AWS S3 and of Ceph RGW (rgw_http_errors);
 * a code we do not know falls back on its HTTP status. */
#include "s3_int.h"

#include <errno.h>
#include <string.h>

/* Transient: a retry in a moment may succeed (server trouble, a conflicting
 * operation in progress, a request cut short). Throttle: the server asks us
 * to slow down: retried with a longer backoff. The rest are negative errno
 * values the callers know: the retry of the same request cannot help. */
static const struct {
	const char *code;
	int r;
} codes[] = {
	/* transient */
	{ "InternalError", S3_TRANSIENT },
	{ "ServiceUnavailable", S3_TRANSIENT },
	{ "RequestTimeout", S3_TRANSIENT },
	{ "OperationAborted", S3_TRANSIENT },     /* 409: a conflicting operation (RGW: tag conflict) */
	{ "ConditionalRequestConflict", S3_TRANSIENT },
	{ "BusyResharding", S3_TRANSIENT },       /* RGW: bucket index being resharded */
	{ "ReadBodyError", S3_TRANSIENT },        /* RGW: it could not read our body */
	{ "IncompleteBody", S3_TRANSIENT },       /* fewer bytes than Content-Length arrived */
	{ "UnknownError", S3_TRANSIENT },         /* RGW's 500 for an unmapped error */
	/* throttle */
	{ "SlowDown", S3_THROTTLE },
	{ "QpsOverlimit", S3_THROTTLE },
	{ "TooManyRequests", S3_THROTTLE },
	{ "RequestLimitExceeded", S3_THROTTLE },
	/* authentication, authorisation: credentials or policy */
	{ "AccessDenied", -EACCES },
	{ "SignatureDoesNotMatch", -EACCES },
	{ "InvalidAccessKeyId", -EACCES },
	{ "InvalidToken", -EACCES },
	{ "ExpiredToken", -EACCES },
	{ "TokenRefreshRequired", -EACCES },
	{ "InvalidSecurity", -EACCES },
	{ "AccountProblem", -EACCES },
	{ "AllAccessDisabled", -EACCES },
	{ "NotSignedUp", -EACCES },
	{ "UserSuspended", -EACCES },
	{ "AuthorizationHeaderMalformed", -EACCES }, /* also: wrong region */
	{ "AuthorizationQueryParametersError", -EACCES },
	{ "MissingSecurityHeader", -EACCES },
	{ "CredentialsNotSupported", -EACCES },
	{ "InvalidObjectState", -EACCES },
	/* configuration of the dock or the bucket */
	{ "RequestTimeTooSkewed", -ETIME },
	{ "NoSuchBucket", -ENXIO },
	{ "InvalidBucketName", -ENXIO },
	{ "NoSuchObjectLockConfiguration", -ENOTSUP },
	{ "ObjectLockConfigurationNotFoundError", -ENOTSUP },
	{ "InvalidBucketState", -ENOTSUP },       /* e.g. Object Lock without versioning */
	{ "QuotaExceeded", -EDQUOT },             /* RGW user / bucket quota */
	{ "NotImplemented", -ENOSYS },
	{ "MethodNotAllowed", -ENOSYS },
	{ "PermanentRedirect", -EINVAL },         /* endpoint or region wrong */
	{ "TemporaryRedirect", -EINVAL },
	{ "Redirect", -EINVAL },
	{ "InvalidStorageClass", -EINVAL },
	{ "InvalidRetentionPeriod", -EINVAL },
	{ "InvalidLocationConstraint", -EINVAL },
	{ "ZonegroupDefaultPlacementMisconfiguration", -EINVAL },
	/* this object or request */
	{ "NoSuchKey", -ENOENT },
	{ "NoSuchVersion", -ENOENT },
	{ "NoSuchTagSet", -ENOENT },
	{ "NoSuchUpload", -ESRCH },
	{ "BadDigest", -EBADMSG },
	{ "InvalidDigest", -EBADMSG },
	{ "XAmzContentSHA256Mismatch", -EBADMSG },
	{ "InvalidPart", -EBADMSG },
	{ "InvalidPartOrder", -EBADMSG },
	{ "EntityTooLarge", -EFBIG },
	{ "EntityTooSmall", -EFBIG },
	{ "MetadataTooLarge", -EFBIG },
	{ "ObjectImmutable", -EEXIST },           /* a locked object holds the key */
	/* our request is malformed: a dock bug, retrying repeats it */
	{ "InvalidArgument", -EINVAL },
	{ "InvalidRequest", -EINVAL },
	{ "InvalidURI", -EINVAL },
	{ "InvalidTag", -EINVAL },
	{ "MalformedXML", -EINVAL },
	{ "MissingContentLength", -EINVAL },
	{ "MissingRequestBodyError", -EINVAL },
	{ "UnexpectedContent", -EINVAL },
	{ "MaxMessageLengthExceeded", -EINVAL },
	{ "RequestHeaderSectionTooLarge", -EINVAL },
	{ "InvalidEncryptionAlgorithmError", -EINVAL },
	{ "KeyTooLongError", -EINVAL },           /* keys are checked before (store_key_valid) */
	{ "InvalidObjectName", -EINVAL },
	{ "NameTooLong", -EINVAL },
	{ "InvalidRange", -EINVAL },              /* we never ask for a range beyond the size */
	{ "PreconditionFailed", -EINVAL },        /* we send no conditional requests */
};

int s3_classify(const char *code, long status, bool lock_requested)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(code, codes[i].code) == 0) {
			if (lock_requested && codes[i].r == -EINVAL &&
			    strcmp(code, "InvalidRequest") == 0)
				return -ENOTSUP; /* "Bucket is missing Object Lock Configuration" */
			return codes[i].r;
		}
	/* A code we do not know: its HTTP status decides. */
	switch (status) {
	case 429:
	case 503:
		return S3_THROTTLE;
	case 408: /* request timeout */
	case 409: /* a conflict with another operation in progress */
	case 500:
	case 502:
	case 504:
		return S3_TRANSIENT;
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 501:
		return -ENOSYS;
	default:
		return status >= 500 ? S3_TRANSIENT : -EINVAL;
	}
}
