/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/attest_mdoc.c: verification of an ISO/IEC 18013-5 mdoc presentation
 * (a DeviceResponse, or a bare IssuerSigned) for an age attestation; see
 * agepass/mdoc.h for the contract.
 *
 * Parsing keeps spans into the input and checks everything it reads:
 * map keys are text of bounded length, known keys appear once, counts are
 * capped, tag 24 items are kept as received because their exact bytes are
 * what the issuer hashed (valueDigests) or signed (issuerAuth) and what
 * the device signed (DeviceNameSpacesBytes).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/x509_vfy.h>

#include "agepass/cbor.h"
#include "agepass/cose.h"
#include "agepass/mdoc.h"
#include "internal.h"

#define KEY_MAX     64 /* map keys, docType, namespace, element identifiers */
#define MAP_MAX     16 /* entries in the fixed-shape maps */
#define NS_MAX      8  /* namespaces */
#define DIGESTS_MAX 512
#define ITEM_MAX    16384 /* one IssuerSignedItemBytes (a portrait fits) */
#define DEPTH       AGP_CBOR_MAX_DEPTH

struct doc {
    struct agp_span doctype; /* empty for a bare IssuerSigned */
    bool has_doctype, has_namespaces, has_device;
    struct agp_span namespaces; /* IssuerNameSpaces, as received */
    struct agp_cose_msg issuer_auth;
    struct agp_span device_ns; /* DeviceNameSpacesBytes, tag 24 included */
    struct agp_cose_msg device_auth;
    bool device_mac;
};

struct mso {
    struct agp_span doctype, value_digests, device_key;
    int64_t valid_from, valid_until;
};

/* A map key: text, at most KEY_MAX bytes. */
static agp_err read_key(struct agp_reader *r, struct agp_span *key)
{
    return agp_cbor_tstr(r, KEY_MAX, key);
}

/*
 * Which of names[] key is (its index), or -1 for an unknown key; *seen
 * collects the known keys so that one given twice is refused.
 */
static agp_err which_key(struct agp_span key, const char *const *names, size_t n, unsigned *seen,
                         int *idx)
{
    size_t i;
    *idx = -1;
    for (i = 0; i < n; i++)
        if (agp_span_is(key, names[i])) {
            AGP_ENSURE((*seen & (1u << i)) == 0, AGP_ERR_SYNTAX);
            *seen |= 1u << i;
            *idx = (int)i;
        }
    return AGP_OK;
}

/*
 * ISO 18013-5 §8.3.2.1.2.2:
 *   DeviceSigned = { "nameSpaces" : DeviceNameSpacesBytes, "deviceAuth" : DeviceAuth }
 *   DeviceNameSpacesBytes = #6.24(bstr .cbor DeviceNameSpaces)
 *   DeviceNameSpaces = { * NameSpace => DeviceSignedItems }
 *   DeviceAuth = { "deviceSignature" : DeviceSignature // "deviceMac" : DeviceMac }
 */
static agp_err read_device_signed(struct doc *d, struct agp_reader *r)
{
    static const char *const names[] = {"nameSpaces", "deviceAuth"};
    static const char *const auth_names[] = {"deviceSignature", "deviceMac"};
    struct agp_span key, inner;
    struct agp_reader ir;
    unsigned seen = 0, auth_seen = 0;
    size_t n, i, m;
    uint8_t major;
    int idx;
    AGP_TRY(agp_cbor_map(r, MAP_MAX, &n));
    for (i = 0; i < n; i++) {
        AGP_TRY(read_key(r, &key));
        AGP_TRY(which_key(key, names, 2, &seen, &idx));
        if (idx == 0) {
            AGP_TRY(agp_cbor_embedded(r, ITEM_MAX, DEPTH - 4, &d->device_ns, &inner));
            agp_reader_init(&ir, inner.ptr, inner.len);
            AGP_TRY(agp_cbor_peek(&ir, &major));
            AGP_ENSURE(major == AGP_CBOR_MAP, AGP_ERR_SYNTAX);
        } else if (idx == 1) {
            AGP_TRY(agp_cbor_map(r, 1, &m));
            AGP_ENSURE(m == 1, AGP_ERR_SYNTAX);
            AGP_TRY(read_key(r, &key));
            AGP_TRY(which_key(key, auth_names, 2, &auth_seen, &idx));
            AGP_ENSURE(idx >= 0, AGP_ERR_SYNTAX);
            d->device_mac = idx == 1;
            AGP_TRY(agp_cose_parse(&d->device_auth, r, d->device_mac));
            /* ISO 18013-5 §9.1.3.4-5: the payload is detached (null) */
            AGP_ENSURE(d->device_auth.detached, AGP_ERR_SYNTAX);
        } else {
            AGP_TRY(agp_cbor_item(r, DEPTH - 4, &key));
        }
    }
    AGP_ENSURE(seen == 3, AGP_ERR_SYNTAX);
    d->has_device = true;
    return AGP_OK;
}

/*
 *   IssuerSigned = { ? "nameSpaces" : IssuerNameSpaces, "issuerAuth" : IssuerAuth }
 *   IssuerAuth = COSE_Sign1 ; payload: MobileSecurityObjectBytes
 * The name spaces are kept as one span and read in check_items.
 */
static agp_err read_issuer_signed(struct doc *d, struct agp_reader *r)
{
    static const char *const names[] = {"nameSpaces", "issuerAuth"};
    struct agp_span key;
    unsigned seen = 0;
    size_t n, i;
    int idx;
    AGP_TRY(agp_cbor_map(r, MAP_MAX, &n));
    for (i = 0; i < n; i++) {
        AGP_TRY(read_key(r, &key));
        AGP_TRY(which_key(key, names, 2, &seen, &idx));
        if (idx == 0) {
            AGP_TRY(agp_cbor_item(r, DEPTH - 3, &d->namespaces));
            d->has_namespaces = true;
        } else if (idx == 1) {
            AGP_TRY(agp_cose_parse(&d->issuer_auth, r, false));
            AGP_ENSURE(!d->issuer_auth.detached, AGP_ERR_SYNTAX);
        } else {
            AGP_TRY(agp_cbor_item(r, DEPTH - 3, &key));
        }
    }
    AGP_ENSURE(seen & 2u, AGP_ERR_SYNTAX);
    return AGP_OK;
}

/*
 *   Document = { "docType" : DocType, "issuerSigned" : IssuerSigned,
 *                "deviceSigned" : DeviceSigned, ? "errors" : Errors }
 */
static agp_err read_document(struct doc *d, struct agp_reader *r)
{
    static const char *const names[] = {"docType", "issuerSigned", "deviceSigned"};
    struct agp_span key;
    unsigned seen = 0;
    size_t n, i;
    int idx;
    AGP_TRY(agp_cbor_map(r, MAP_MAX, &n));
    for (i = 0; i < n; i++) {
        AGP_TRY(read_key(r, &key));
        AGP_TRY(which_key(key, names, 3, &seen, &idx));
        if (idx == 0) {
            AGP_TRY(agp_cbor_tstr(r, KEY_MAX, &d->doctype));
            d->has_doctype = true;
        } else if (idx == 1) {
            AGP_TRY(read_issuer_signed(d, r));
        } else if (idx == 2) {
            AGP_TRY(read_device_signed(d, r));
        } else {
            AGP_TRY(agp_cbor_item(r, DEPTH - 2, &key)); /* "errors" */
        }
    }
    AGP_ENSURE(seen == 7, AGP_ERR_SYNTAX);
    return AGP_OK;
}

/*
 * ISO 18013-5 §8.3.2.1.2.2:
 *   DeviceResponse = { "version" : tstr, ? "documents" : [+ Document],
 *                      ? "documentErrors" : [+ DocumentError], "status" : uint }
 * One document, status 0 (OK). A map whose keys are those of IssuerSigned
 * instead is read as a bare IssuerSigned (EU AV Annex A example 1).
 */
static agp_err read_response(struct doc *d, const uint8_t *in, size_t len)
{
    static const char *const names[] = {"version", "documents", "documentErrors", "status"};
    struct agp_reader r, probe;
    struct agp_span key, version;
    unsigned seen = 0;
    uint64_t status;
    size_t n, i, ndocs;
    int idx;

    memset(d, 0, sizeof *d);
    AGP_ENSURE(len <= AGP_MDOC_MAX, AGP_ERR_TOO_BIG);
    agp_reader_init(&r, in, len);
    probe = r;
    AGP_TRY(agp_cbor_map(&probe, MAP_MAX, &n));
    AGP_ENSURE(n > 0, AGP_ERR_SYNTAX);
    AGP_TRY(read_key(&probe, &key));
    if (agp_span_is(key, "nameSpaces") || agp_span_is(key, "issuerAuth")) {
        AGP_TRY(read_issuer_signed(d, &r));
        return agp_read_end(&r);
    }
    AGP_TRY(agp_cbor_map(&r, MAP_MAX, &n));
    for (i = 0; i < n; i++) {
        AGP_TRY(read_key(&r, &key));
        AGP_TRY(which_key(key, names, 4, &seen, &idx));
        if (idx == 0) {
            AGP_TRY(agp_cbor_tstr(&r, 8, &version));
            AGP_ENSURE(agp_span_is(version, "1.0"), AGP_ERR_SYNTAX);
        } else if (idx == 1) {
            AGP_TRY(agp_cbor_array(&r, 1, &ndocs));
            AGP_ENSURE(ndocs == 1, AGP_ERR_SYNTAX);
            AGP_TRY(read_document(d, &r));
        } else if (idx == 3) {
            AGP_TRY(agp_cbor_uint(&r, &status));
            AGP_ENSURE(status == 0, AGP_ERR_NOT_FOUND);
        } else {
            AGP_TRY(agp_cbor_item(&r, DEPTH - 1, &key));
        }
    }
    AGP_ENSURE((seen & 0xbu) == 0xbu, AGP_ERR_SYNTAX); /* version, documents, status */
    return agp_read_end(&r);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's formula). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool digits(const uint8_t *p, size_t n, unsigned *out)
{
    size_t i;
    *out = 0;
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        *out = *out * 10 + (unsigned)(p[i] - '0');
    }
    return true;
}

/*
 * ISO 18013-5 §7.2.1 / RFC 8949 §3.4.1: tdate = #6.0(tstr), RFC 3339
 * date-time in UTC: "YYYY-MM-DDTHH:MM:SSZ", fractions of a second
 * tolerated (and dropped), no other offset.
 */
static agp_err read_tdate(struct agp_reader *r, int64_t *out)
{
    struct agp_span s;
    uint64_t tag;
    unsigned y, mo, d, h, mi, sec, frac;
    size_t i;
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    AGP_TRY(agp_cbor_tag(r, &tag));
    AGP_ENSURE(tag == 0, AGP_ERR_SYNTAX);
    AGP_TRY(agp_cbor_tstr(r, 40, &s));
    AGP_ENSURE(s.len >= 20, AGP_ERR_SYNTAX);
    AGP_ENSURE(digits(s.ptr, 4, &y) && s.ptr[4] == '-' && digits(s.ptr + 5, 2, &mo) &&
                   s.ptr[7] == '-' && digits(s.ptr + 8, 2, &d) && s.ptr[10] == 'T' &&
                   digits(s.ptr + 11, 2, &h) && s.ptr[13] == ':' && digits(s.ptr + 14, 2, &mi) &&
                   s.ptr[16] == ':' && digits(s.ptr + 17, 2, &sec),
               AGP_ERR_SYNTAX);
    i = 19;
    if (s.ptr[i] == '.') {
        AGP_ENSURE(s.len - i >= 3 && s.len - i <= 11, AGP_ERR_SYNTAX);
        AGP_ENSURE(digits(s.ptr + i + 1, s.len - i - 2, &frac), AGP_ERR_SYNTAX);
        i = s.len - 1;
    }
    AGP_ENSURE(i == s.len - 1 && s.ptr[i] == 'Z', AGP_ERR_SYNTAX);
    AGP_ENSURE(mo >= 1 && mo <= 12 && d >= 1 && d <= mdays[mo - 1] && h < 24 && mi < 60 && sec < 60,
               AGP_ERR_SYNTAX);
    AGP_ENSURE(!(mo == 2 && d == 29 && (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0))),
               AGP_ERR_SYNTAX);
    *out = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec;
    return AGP_OK;
}

/*
 *   ValidityInfo = { "signed" : tdate, "validFrom" : tdate, "validUntil" : tdate,
 *                    ? "expectedUpdate" : tdate }
 */
static agp_err read_validity(struct mso *m, struct agp_reader *r)
{
    static const char *const names[] = {"signed", "validFrom", "validUntil", "expectedUpdate"};
    struct agp_span key;
    unsigned seen = 0;
    size_t n, i;
    int64_t t, signed_at = 0;
    int idx;
    AGP_TRY(agp_cbor_map(r, MAP_MAX, &n));
    for (i = 0; i < n; i++) {
        AGP_TRY(read_key(r, &key));
        AGP_TRY(which_key(key, names, 4, &seen, &idx));
        if (idx < 0) {
            AGP_TRY(agp_cbor_item(r, 4, &key));
            continue;
        }
        AGP_TRY(read_tdate(r, &t));
        if (idx == 0) signed_at = t;
        if (idx == 1) m->valid_from = t;
        if (idx == 2) m->valid_until = t;
    }
    AGP_ENSURE((seen & 7u) == 7u, AGP_ERR_SYNTAX);
    /* ISO 18013-5 §9.1.2.4: signed <= validFrom < validUntil... a window at least */
    AGP_ENSURE(m->valid_from <= m->valid_until && signed_at <= m->valid_until, AGP_ERR_SYNTAX);
    return AGP_OK;
}

/*
 *   ValueDigests = { + NameSpace => DigestIDs }
 *   DigestIDs = { + DigestID => Digest }      DigestID = uint, Digest = bstr
 * Read once whole here (shape, SHA-256 lengths); looked up by find_digest.
 */
static agp_err check_value_digests(struct agp_span vd)
{
    struct agp_reader r;
    struct agp_span ns, dg;
    size_t n, i, k, j;
    uint64_t id;
    agp_reader_init(&r, vd.ptr, vd.len);
    AGP_TRY(agp_cbor_map(&r, NS_MAX, &n));
    for (i = 0; i < n; i++) {
        AGP_TRY(read_key(&r, &ns));
        AGP_TRY(agp_cbor_map(&r, DIGESTS_MAX, &k));
        for (j = 0; j < k; j++) {
            AGP_TRY(agp_cbor_uint(&r, &id));
            AGP_TRY(agp_cbor_bstr(&r, AGP_SHA256_LEN, &dg));
            AGP_ENSURE(dg.len == AGP_SHA256_LEN, AGP_ERR_LENGTH);
        }
    }
    return agp_read_end(&r);
}

/* The digest for (ns, id); exactly one entry must match. */
static agp_err find_digest(struct agp_span vd, struct agp_span ns_want, uint64_t id_want,
                           struct agp_span *out)
{
    struct agp_reader r;
    struct agp_span ns, dg;
    size_t n, i, k, j, found = 0, ns_found = 0;
    uint64_t id;
    bool here;
    agp_reader_init(&r, vd.ptr, vd.len);
    AGP_TRY(agp_cbor_map(&r, NS_MAX, &n));
    for (i = 0; i < n; i++) {
        AGP_TRY(read_key(&r, &ns));
        here = ns.len == ns_want.len && memcmp(ns.ptr, ns_want.ptr, ns.len) == 0;
        ns_found += here;
        AGP_TRY(agp_cbor_map(&r, DIGESTS_MAX, &k));
        for (j = 0; j < k; j++) {
            AGP_TRY(agp_cbor_uint(&r, &id));
            AGP_TRY(agp_cbor_bstr(&r, AGP_SHA256_LEN, &dg));
            if (here && id == id_want) {
                *out = dg;
                found++;
            }
        }
    }
    AGP_ENSURE(ns_found == 1 && found == 1, AGP_ERR_SIGNATURE);
    return AGP_OK;
}

/*
 * ISO 18013-5 §9.1.2.4:
 *   MobileSecurityObjectBytes = #6.24(bstr .cbor MobileSecurityObject)
 *   MobileSecurityObject = { "version" : tstr, "digestAlgorithm" : tstr,
 *     "valueDigests" : ValueDigests, "deviceKeyInfo" : DeviceKeyInfo,
 *     "docType" : tstr, "validityInfo" : ValidityInfo }
 *   DeviceKeyInfo = { "deviceKey" : DeviceKey, ? "keyAuthorizations" : ..., ? "keyInfo" : ... }
 * Other keys (EU AV: "status") are skipped.
 */
static agp_err read_mso(struct mso *m, struct agp_span payload)
{
    static const char *const names[] = {"version",       "digestAlgorithm", "valueDigests",
                                        "deviceKeyInfo", "docType",         "validityInfo"};
    static const char *const dki_names[] = {"deviceKey"};
    struct agp_reader outer, r;
    struct agp_span whole, inner, key, s;
    unsigned seen = 0, dki_seen = 0;
    size_t n, i, k, j;
    int idx;
    memset(m, 0, sizeof *m);
    agp_reader_init(&outer, payload.ptr, payload.len);
    AGP_TRY(agp_cbor_embedded(&outer, AGP_COSE_PAYLOAD_MAX, DEPTH, &whole, &inner));
    AGP_TRY(agp_read_end(&outer));
    agp_reader_init(&r, inner.ptr, inner.len);
    AGP_TRY(agp_cbor_map(&r, MAP_MAX, &n));
    for (i = 0; i < n; i++) {
        AGP_TRY(read_key(&r, &key));
        AGP_TRY(which_key(key, names, 6, &seen, &idx));
        switch (idx) {
        case 0:
            AGP_TRY(agp_cbor_tstr(&r, 8, &s));
            AGP_ENSURE(agp_span_is(s, "1.0"), AGP_ERR_SYNTAX);
            break;
        case 1:
            AGP_TRY(agp_cbor_tstr(&r, KEY_MAX, &s));
            AGP_ENSURE(agp_span_is(s, "SHA-256"), AGP_ERR_KEY);
            break;
        case 2:
            AGP_TRY(agp_cbor_item(&r, 3, &m->value_digests));
            AGP_TRY(check_value_digests(m->value_digests));
            break;
        case 3:
            AGP_TRY(agp_cbor_map(&r, 4, &k));
            for (j = 0; j < k; j++) {
                AGP_TRY(read_key(&r, &key));
                AGP_TRY(which_key(key, dki_names, 1, &dki_seen, &idx));
                AGP_TRY(agp_cbor_item(&r, DEPTH - 3, idx == 0 ? &m->device_key : &key));
            }
            AGP_ENSURE(dki_seen == 1, AGP_ERR_SYNTAX);
            break;
        case 4: AGP_TRY(agp_cbor_tstr(&r, KEY_MAX, &m->doctype)); break;
        case 5: AGP_TRY(read_validity(m, &r)); break;
        default: AGP_TRY(agp_cbor_item(&r, DEPTH - 1, &key)); break;
        }
    }
    AGP_ENSURE(seen == 0x3fu, AGP_ERR_SYNTAX);
    return agp_read_end(&r);
}

/*
 *   IssuerNameSpaces = { + NameSpace => [ + IssuerSignedItemBytes ] }
 *   IssuerSignedItemBytes = #6.24(bstr .cbor IssuerSignedItem)
 *   IssuerSignedItem = { "digestID" : uint, "random" : bstr,
 *                        "elementIdentifier" : DataElementIdentifier,
 *                        "elementValue" : DataElementValue }
 * Every item's SHA-256 (over the tagged bytes) must be its valueDigests
 * entry. *age_value is set when the namespace `age_ns` discloses
 * `age_id`: -1 not disclosed, 0 false, 1 true.
 */
static agp_err check_items(const struct doc *d, const struct mso *m, const char *age_ns,
                           const char *age_id, int *age_value)
{
    static const char *const names[] = {"digestID", "random", "elementIdentifier", "elementValue"};
    struct agp_reader r, ir;
    struct agp_span ns, whole, inner, key, random = {0}, ident = {0}, expected = {0}, value = {0};
    uint8_t digest[AGP_SHA256_LEN];
    uint64_t id, ids[AGP_MDOC_MAX_ITEMS];
    size_t n, i, k, j, f, q;
    unsigned seen;
    bool flag;
    int idx;
    *age_value = -1;
    if (!d->has_namespaces) return AGP_OK;
    agp_reader_init(&r, d->namespaces.ptr, d->namespaces.len);
    AGP_TRY(agp_cbor_map(&r, NS_MAX, &n));
    for (i = 0; i < n; i++) {
        AGP_TRY(read_key(&r, &ns));
        AGP_TRY(agp_cbor_array(&r, AGP_MDOC_MAX_ITEMS, &k));
        AGP_ENSURE(k > 0, AGP_ERR_SYNTAX);
        for (j = 0; j < k; j++) {
            AGP_TRY(agp_cbor_embedded(&r, ITEM_MAX, DEPTH - 4, &whole, &inner));
            agp_reader_init(&ir, inner.ptr, inner.len);
            AGP_TRY(agp_cbor_map(&ir, 4, &f));
            AGP_ENSURE(f == 4, AGP_ERR_SYNTAX);
            seen = 0;
            id = 0;
            for (q = 0; q < f; q++) {
                AGP_TRY(read_key(&ir, &key));
                AGP_TRY(which_key(key, names, 4, &seen, &idx));
                if (idx == 0)
                    AGP_TRY(agp_cbor_uint(&ir, &id));
                else if (idx == 1)
                    AGP_TRY(agp_cbor_bstr(&ir, 1024, &random));
                else if (idx == 2)
                    AGP_TRY(agp_cbor_tstr(&ir, KEY_MAX, &ident));
                else if (idx == 3)
                    AGP_TRY(agp_cbor_item(&ir, DEPTH - 6, &value));
                else
                    return AGP_ERR_SYNTAX;
            }
            AGP_TRY(agp_read_end(&ir));
            /* ISO 18013-5 §9.1.2.5: random is at least 16 bytes */
            AGP_ENSURE(random.len >= 16, AGP_ERR_SYNTAX);
            for (q = 0; q < j; q++)
                AGP_ENSURE(ids[q] != id, AGP_ERR_SYNTAX);
            ids[j] = id;
            AGP_TRY(find_digest(m->value_digests, ns, id, &expected));
            AGP_TRY(agp_sha256(digest, whole.ptr, whole.len));
            AGP_ENSURE(memcmp(digest, expected.ptr, AGP_SHA256_LEN) == 0, AGP_ERR_SIGNATURE);
            if (agp_span_is(ns, age_ns) && agp_span_is(ident, age_id)) {
                struct agp_reader vr;
                AGP_ENSURE(*age_value == -1, AGP_ERR_SYNTAX); /* disclosed twice */
                agp_reader_init(&vr, value.ptr, value.len);
                AGP_TRY(agp_cbor_bool(&vr, &flag));
                *age_value = flag ? 1 : 0;
            }
        }
    }
    return agp_read_end(&r);
}

/* The document signer's certificate, its chain to an anchor at now. */
static agp_err check_chain(EVP_PKEY **ds_key, const struct agp_cose_msg *ia,
                           const struct agp_mdoc_policy *p)
{
    X509 *leaf = NULL, *c;
    STACK_OF(X509) *rest = NULL;
    X509_STORE_CTX *ctx = NULL;
    const unsigned char *q;
    agp_err err = AGP_ERR_KEY;
    size_t i;
    int e;
    *ds_key = NULL;
    if (ia->x5chain_len == 0 || p->anchors == NULL) return AGP_ERR_KEY;
    q = ia->x5chain[0].ptr;
    leaf = d2i_X509(NULL, &q, (long)ia->x5chain[0].len);
    if (leaf == NULL || q != ia->x5chain[0].ptr + ia->x5chain[0].len) {
        err = AGP_ERR_ENCODING;
        goto out;
    }
    if ((rest = sk_X509_new_null()) == NULL) goto nomem;
    for (i = 1; i < ia->x5chain_len; i++) {
        q = ia->x5chain[i].ptr;
        c = d2i_X509(NULL, &q, (long)ia->x5chain[i].len);
        if (c == NULL || q != ia->x5chain[i].ptr + ia->x5chain[i].len || !sk_X509_push(rest, c)) {
            X509_free(c);
            err = AGP_ERR_ENCODING;
            goto out;
        }
    }
    if ((ctx = X509_STORE_CTX_new()) == NULL ||
        X509_STORE_CTX_init(ctx, p->anchors, leaf, rest) != 1)
        goto nomem;
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)p->now);
    if (X509_verify_cert(ctx) != 1) {
        e = X509_STORE_CTX_get_error(ctx);
        err = (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID)
                  ? AGP_ERR_EXPIRED
                  : AGP_ERR_KEY;
        goto out;
    }
    if ((*ds_key = X509_get_pubkey(leaf)) == NULL) goto out;
    err = AGP_OK;
    goto out;
nomem:
    err = AGP_ERR_NOMEM;
out:
    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(rest, X509_free);
    X509_free(leaf);
    return err;
}

/*
 * ISO 18013-5 §9.1.5.2: EMacKey = HKDF-SHA-256(IKM = ECDH(EReaderKey.priv,
 * SDeviceKey.pub), salt = SHA-256(SessionTranscriptBytes), info "EMacKey", L = 32).
 */
static agp_err emac_key(uint8_t key[32], EVP_PKEY *reader, EVP_PKEY *device,
                        const struct agp_mdoc_policy *p)
{
    EVP_PKEY_CTX *dctx = NULL;
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *kctx = NULL;
    EVP_MD_CTX *md = NULL;
    OSSL_PARAM params[5];
    uint8_t z[32], salt[32], head[16];
    struct agp_writer w;
    size_t zlen = sizeof z;
    unsigned slen = 0;
    agp_err err = AGP_ERR_CRYPTO;

    agp_writer_init(&w, head, sizeof head);
    if (agp_cbor_put_head(&w, AGP_CBOR_TAG, 24) != AGP_OK ||
        agp_cbor_put_head(&w, AGP_CBOR_BSTR, p->transcript_len) != AGP_OK)
        goto out;
    if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(md, agp_md_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(md, head, w.len) != 1 ||
        EVP_DigestUpdate(md, p->transcript, p->transcript_len) != 1 ||
        EVP_DigestFinal_ex(md, salt, &slen) != 1)
        goto out;
    if ((dctx = EVP_PKEY_CTX_new(reader, NULL)) == NULL || EVP_PKEY_derive_init(dctx) != 1 ||
        EVP_PKEY_derive_set_peer(dctx, device) != 1 || EVP_PKEY_derive(dctx, z, &zlen) != 1 ||
        zlen != 32) {
        err = AGP_ERR_KEY;
        goto out;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, zlen);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, sizeof salt);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (char *)"EMacKey", 7);
    params[4] = OSSL_PARAM_construct_end();
    if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL ||
        (kctx = EVP_KDF_CTX_new(kdf)) == NULL || EVP_KDF_derive(kctx, key, 32, params) != 1)
        goto out;
    err = AGP_OK;
out:
    AGP_WIPE(z);
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    EVP_PKEY_CTX_free(dctx);
    EVP_MD_CTX_free(md);
    return err;
}

/*
 * ISO 18013-5 §9.1.3.4:
 *   DeviceAuthentication = [ "DeviceAuthentication", SessionTranscript, DocType,
 *                            DeviceNameSpacesBytes ]
 *   DeviceAuthenticationBytes = #6.24(bstr .cbor DeviceAuthentication)
 * the detached payload of deviceSignature or deviceMac. Built as parts:
 * the heads, the caller's transcript, the docType, the bytes received.
 */
static agp_err check_device(const struct doc *d, const struct mso *m,
                            const struct agp_mdoc_policy *p)
{
    uint8_t prefix[48], dt_head[9], key[32];
    struct agp_writer w, wd;
    struct agp_span parts[5];
    EVP_PKEY *device = NULL;
    size_t inner;
    agp_err err;

    AGP_ENSURE(d->has_device && d->has_doctype, AGP_ERR_NOT_FOUND);
    AGP_ENSURE(p->transcript_len <= AGP_MDOC_TRANSCRIPT_MAX, AGP_ERR_ARG);
    inner = 1 + 1 + 20 + p->transcript_len + agp_cbor_head_len(d->doctype.len) + d->doctype.len +
            d->device_ns.len;
    agp_writer_init(&w, prefix, sizeof prefix);
    AGP_TRY(agp_cbor_put_head(&w, AGP_CBOR_TAG, 24));
    AGP_TRY(agp_cbor_put_head(&w, AGP_CBOR_BSTR, inner));
    AGP_TRY(agp_cbor_put_head(&w, AGP_CBOR_ARRAY, 4));
    AGP_TRY(agp_cbor_put_tstr(&w, "DeviceAuthentication", 20));
    agp_writer_init(&wd, dt_head, sizeof dt_head);
    AGP_TRY(agp_cbor_put_head(&wd, AGP_CBOR_TSTR, d->doctype.len));
    parts[0] = (struct agp_span){prefix, w.len};
    parts[1] = (struct agp_span){p->transcript, p->transcript_len};
    parts[2] = (struct agp_span){dt_head, wd.len};
    parts[3] = d->doctype;
    parts[4] = d->device_ns;

    AGP_TRY(agp_cose_key_p256(&device, m->device_key));
    if (!d->device_mac) {
        err = agp_cose_sign1_verify(&d->device_auth, device, parts, 5);
    } else if (p->reader_key == NULL) {
        err = AGP_ERR_KEY;
    } else if ((err = emac_key(key, p->reader_key, device, p)) == AGP_OK) {
        err = agp_cose_mac0_verify(&d->device_auth, key, parts, 5);
    }
    AGP_WIPE(key);
    EVP_PKEY_free(device);
    return err;
}

static agp_err verify(struct agp_mdoc_result *out, const uint8_t *in, size_t len,
                      const struct agp_mdoc_policy *p)
{
    const char *doctype = p->doctype ? p->doctype : AGP_MDOC_DOCTYPE_AV;
    const char *ns = p->name_space ? p->name_space : doctype;
    struct doc d;
    struct mso m;
    EVP_PKEY *ds = NULL;
    char age_id[16];
    int age_value;
    agp_err err;

    AGP_ENSURE(p->age >= 1 && p->age <= 99, AGP_ERR_ARG);
    snprintf(age_id, sizeof age_id, "age_over_%02u", p->age);
    /* 1. the bytes */
    AGP_TRY(read_response(&d, in, len));
    /* 2. issuerAuth: signature by the DS key, DS chained to an anchor */
    AGP_TRY(check_chain(&ds, &d.issuer_auth, p));
    err = agp_cose_sign1_verify(&d.issuer_auth, ds, NULL, 0);
    EVP_PKEY_free(ds);
    AGP_TRY(err);
    /* 3. the MSO and the disclosed items */
    AGP_TRY(read_mso(&m, d.issuer_auth.payload));
    AGP_ENSURE(agp_span_is(m.doctype, doctype), AGP_ERR_TOKEN_TYPE);
    AGP_ENSURE(!d.has_doctype || agp_span_is(d.doctype, doctype), AGP_ERR_TOKEN_TYPE);
    AGP_ENSURE(m.valid_from <= p->now && p->now <= m.valid_until, AGP_ERR_EXPIRED);
    AGP_TRY(check_items(&d, &m, ns, age_id, &age_value));
    /* 4. the device */
    if (p->transcript != NULL) {
        AGP_TRY(check_device(&d, &m, p));
        out->device_authenticated = true;
    }
    /* 5. the age */
    AGP_ENSURE(age_value >= 0, AGP_ERR_NOT_FOUND);
    out->age = age_value == 1 ? p->age : 0;
    out->valid_until = m.valid_until;
    return agp_sha256(out->digest, d.issuer_auth.payload.ptr, d.issuer_auth.payload.len);
}

/* see agepass/mdoc.h */
agp_err agp_mdoc_verify(struct agp_mdoc_result *out, const uint8_t *in, size_t len,
                        const struct agp_mdoc_policy *p)
{
    agp_err err;
    memset(out, 0, sizeof *out);
    err = verify(out, in, len, p);
    if (err != AGP_OK) memset(out, 0, sizeof *out);
    ERR_clear_error(); /* refused certificates and keys leave entries behind */
    return err;
}

/* see agepass/mdoc.h */
agp_err agp_mdoc_oid4vp_transcript(uint8_t *out, size_t cap, size_t *out_len, const char *client_id,
                                   const char *nonce, const uint8_t *jwk_thumbprint,
                                   const char *response_uri)
{
    uint8_t info[2048], hash[AGP_SHA256_LEN];
    struct agp_writer w;
    *out_len = 0;
    agp_writer_init(&w, info, sizeof info);
    AGP_TRY(agp_cbor_put_head(&w, AGP_CBOR_ARRAY, 4));
    AGP_TRY(agp_cbor_put_tstr(&w, client_id, strlen(client_id)));
    AGP_TRY(agp_cbor_put_tstr(&w, nonce, strlen(nonce)));
    if (jwk_thumbprint != NULL)
        AGP_TRY(agp_cbor_put_bstr(&w, jwk_thumbprint, AGP_SHA256_LEN));
    else
        AGP_TRY(agp_cbor_put_head(&w, AGP_CBOR_SIMPLE, 22)); /* null */
    AGP_TRY(agp_cbor_put_tstr(&w, response_uri, strlen(response_uri)));
    AGP_TRY(agp_sha256(hash, info, w.len));
    agp_writer_init(&w, out, cap);
    AGP_TRY(agp_cbor_put_head(&w, AGP_CBOR_ARRAY, 3));
    AGP_TRY(agp_cbor_put_head(&w, AGP_CBOR_SIMPLE, 22));
    AGP_TRY(agp_cbor_put_head(&w, AGP_CBOR_SIMPLE, 22));
    AGP_TRY(agp_cbor_put_head(&w, AGP_CBOR_ARRAY, 2));
    AGP_TRY(agp_cbor_put_tstr(&w, "OpenID4VPHandover", 17));
    AGP_TRY(agp_cbor_put_bstr(&w, hash, sizeof hash));
    *out_len = w.len;
    return AGP_OK;
}
