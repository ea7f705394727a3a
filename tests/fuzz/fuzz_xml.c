/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_xml.c - libFuzzer target for the XML value extractor that reads STS answers: the first
 * byte picks a path, the rest is the document. Whatever it finds must be clean text that
 * survives being escaped into a new document and read back.
 * Build: see README.md. With -DKVSWS_FUZZ_STANDALONE it is a plain program that replays the
 * files (or directories of files) named on its command line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const PATHS[] = {
    "A",
    "A/B",
    "a/b/c",
    "AssumeRoleResponse/AssumeRoleResult/Credentials/AccessKeyId",
    "AssumeRoleWithWebIdentityResponse/AssumeRoleWithWebIdentityResult/Credentials/SessionToken",
    "ErrorResponse/Error/Code",
    "ErrorResponse/Error/Message",
    "ErrorResponse/RequestId",
};

/* The value escaped as character data, every kind of reference used once in a while. */
static void escape(kvi_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '<')
            kvi_buf_puts(b, "&lt;");
        else if (c == '&')
            kvi_buf_puts(b, "&amp;");
        else if (c == '>')
            kvi_buf_puts(b, i % 2 ? "&gt;" : "&#62;");
        else if (c == '"' || c == '\'')
            kvi_buf_printf(b, "&#x%X;", c);
        else
            kvi_buf_putc(b, (char)c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *path = PATHS[data[0] % (sizeof PATHS / sizeof *PATHS)];
    const char *doc = (const char *)data + 1;
    size_t len = size - 1;
    kvi_buf out = KVI_BUF_INIT;
    const char *why = NULL;
    kvi_xml_result r = kvi_xml_value(doc, len, path, &out, &why);
    if (r == KVI_XML_NO_MEMORY)
        goto done;
    if ((r == KVI_XML_MALFORMED) != (why != NULL))
        abort();
    if (r != KVI_XML_FOUND && r != KVI_XML_ABSENT && r != KVI_XML_MALFORMED)
        abort();
    /* The same bytes give the same answer. */
    kvi_buf again = KVI_BUF_INIT;
    if (kvi_xml_value(doc, len, path, &again, NULL) != r ||
        (r == KVI_XML_FOUND && (again.len != out.len || memcmp(again.data, out.data, out.len))))
        abort();
    kvi_buf_free(&again);
    if (r != KVI_XML_FOUND)
        goto done;
    /* Decoding only shrinks; no NUL can come out of a document that may not hold one. */
    if (out.len > len || !out.data || strlen(out.data) != out.len)
        abort();
    /* Escaped into a fresh document, the value reads back exactly. */
    kvi_buf wrapped = KVI_BUF_INIT;
    kvi_buf_puts(&wrapped, "<?xml version=\"1.0\"?><A x='1'><!-- c --><B>");
    escape(&wrapped, out.data, out.len);
    kvi_buf_puts(&wrapped, "</B></A>");
    kvi_buf back = KVI_BUF_INIT;
    kvi_xml_result r2 = kvi_xml_value(wrapped.data, wrapped.len, "A/B", &back, &why);
    if (r2 != KVI_XML_NO_MEMORY &&
        (r2 != KVI_XML_FOUND || back.len != out.len || memcmp(back.data, out.data, out.len)))
        abort();
    kvi_buf_free(&back);
    kvi_buf_free(&wrapped);
done:
    kvi_buf_free(&out);
    return 0;
}

#include "standalone_main.h"
