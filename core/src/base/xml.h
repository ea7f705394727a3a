/* SPDX-License-Identifier: Apache-2.0 */
/* xml.h - a small, strict, bounded XML value extractor for the AWS query protocol's answers
 * (STS): no DTDs, no external anything, one pass, no allocation but the value it returns. */
#ifndef KVSWS_XML_H
#define KVSWS_XML_H

#include <stddef.h>

#include "base/buf.h"

/* Bounds: a deeper or longer document is malformed for us (STS answers are 4 levels, ~2 KiB). */
#define KVI_XML_MAX_DEPTH 32
#define KVI_XML_MAX_PATH 16
#define KVI_XML_MAX_DOC ((size_t)1 << 20)

typedef enum kvi_xml_result {
    KVI_XML_FOUND = 0,
    KVI_XML_ABSENT = 1,     /* the document is well formed, no element is at the path */
    KVI_XML_MALFORMED = -1, /* *why says what (a static phrase) */
    KVI_XML_NO_MEMORY = -2
} kvi_xml_result;

/*
 * The text of the first element (in document order) at path, a '/'-separated list of element
 * names from the root, e.g. "AssumeRoleResponse/AssumeRoleResult/Credentials/AccessKeyId".
 * Names compare by their local part (a "p:" prefix is ignored), case-sensitively.
 *
 * The whole document is checked before anything is returned: UTF-8 made of XML 1.0 characters;
 * an optional declaration, comments and processing instructions around exactly one root element;
 * tags that nest and match; attributes well formed in syntax (values quoted, no '<'); character data
 * without a stray "]]>"; references limited to the five predefined entities (&lt; &gt; &amp;
 * &quot; &apos;) and numeric character references of XML characters. A DOCTYPE is refused (no
 * entity expansion, no external resources). Bounded by KVI_XML_MAX_DOC bytes, KVI_XML_MAX_DEPTH
 * levels and KVI_XML_MAX_PATH path steps.
 *
 * The value is the element's own text (character data, CDATA sections, decoded references),
 * not its children's; it replaces out's contents (on anything but KVI_XML_FOUND out may hold a
 * partial value, so callers that extract secrets free it with kvi_buf_free_secret).
 * Never reads past doc + len; doc need not be NUL-terminated.
 */
kvi_xml_result kvi_xml_value(const char *doc, size_t len, const char *path, kvi_buf *out,
                             const char **why);

#endif
