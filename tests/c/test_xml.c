/* SPDX-License-Identifier: Apache-2.0 */
/* test_xml.c - the strict XML value extractor that reads STS answers. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "check.h"
#include "base/xml.h"

/* The value at path, or a marker naming the result. Caller frees. */
static char *get(const char *doc, const char *path)
{
    kvi_buf out = KVI_BUF_INIT;
    const char *why = NULL;
    kvi_xml_result r = kvi_xml_value(doc, strlen(doc), path, &out, &why);
    char *s = NULL;
    if (r == KVI_XML_FOUND) {
        s = kvi_buf_detach(&out);
        CHECK(why == NULL);
    } else if (r == KVI_XML_ABSENT) {
        s = strdup("<absent>");
        CHECK(why == NULL);
    } else {
        CHECK(why != NULL);
        if (asprintf(&s, "<malformed: %s>", why ? why : "?") < 0)
            abort();
    }
    kvi_buf_free(&out);
    return s;
}

static int is_malformed(const char *doc, const char *path)
{
    char *v = get(doc, path);
    int yes = strncmp(v, "<malformed", 10) == 0;
    if (!yes)
        fprintf(stderr, "  expected malformed, got [%s] for [%s]\n", v, doc);
    free(v);
    return yes;
}

#define CHECK_VALUE(doc, path, want)                                                         \
    do {                                                                                     \
        char *v_ = get(doc, path);                                                           \
        CHECK_STR(v_, want);                                                                 \
        free(v_);                                                                            \
    } while (0)

static const char *const ASSUME_ROLE_OK =
    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleResult>\n"
    "    <SourceIdentity>DevUser123</SourceIdentity>\n"
    "    <AssumedRoleUser>\n"
    "      <Arn>arn:aws:sts::123456789012:assumed-role/demo/John</Arn>\n"
    "      <AssumedRoleId>ARO123EXAMPLE123:John</AssumedRoleId>\n"
    "    </AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
    "      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
    "      <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764+bq/4=</SessionToken>\n"
    "      <Expiration>2019-07-15T23:28:33.359Z</Expiration>\n"
    "    </Credentials>\n"
    "    <PackedPolicySize>8</PackedPolicySize>\n"
    "  </AssumeRoleResult>\n"
    "  <ResponseMetadata>\n"
    "    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n"
    "  </ResponseMetadata>\n"
    "</AssumeRoleResponse>\n";

static void test_sts_documents(void)
{
    const char *c = "AssumeRoleResponse/AssumeRoleResult/Credentials/";
    char path[128];
    snprintf(path, sizeof path, "%sAccessKeyId", c);
    CHECK_VALUE(ASSUME_ROLE_OK, path, "ASIAIOSFODNN7EXAMPLE");
    snprintf(path, sizeof path, "%sSecretAccessKey", c);
    CHECK_VALUE(ASSUME_ROLE_OK, path, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
    snprintf(path, sizeof path, "%sSessionToken", c);
    CHECK_VALUE(ASSUME_ROLE_OK, path, "AQoDYXdzEPT//////////wEXAMPLEtc764+bq/4=");
    snprintf(path, sizeof path, "%sExpiration", c);
    CHECK_VALUE(ASSUME_ROLE_OK, path, "2019-07-15T23:28:33.359Z");
    CHECK_VALUE(ASSUME_ROLE_OK, "AssumeRoleResponse/ResponseMetadata/RequestId",
                "c6104cbe-af31-11e0-8154-cbc7ccf896c7");
    /* Not there, or not from the root. */
    CHECK_VALUE(ASSUME_ROLE_OK, "AssumeRoleResponse/AssumeRoleResult/Credentials/Nope",
                "<absent>");
    CHECK_VALUE(ASSUME_ROLE_OK, "Credentials/AccessKeyId", "<absent>");
    CHECK_VALUE(ASSUME_ROLE_OK, "ErrorResponse/Error/Code", "<absent>");
    /* An element with children has only its own text (here white space). */
    CHECK_VALUE("<a>x<b>y</b>z</a>", "a", "xz");
    CHECK_VALUE("<a>x<b>y</b>z</a>", "a/b", "y");

    const char *error =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
        "  <Error>\n"
        "    <Type>Sender</Type>\n"
        "    <Code>AccessDenied</Code>\n"
        "    <Message>User: arn:aws:iam::123456789012:user/x is not authorized to perform: "
        "sts:AssumeRole on resource: arn:aws:iam::123456789012:role/r &amp; &lt;more&gt; "
        "&quot;q&quot; &apos;a&apos; &#65;&#x42;&#x20AC;&#x1F600;</Message>\n"
        "  </Error>\n"
        "  <RequestId>4f2c-example</RequestId>\n"
        "</ErrorResponse>\n";
    CHECK_VALUE(error, "ErrorResponse/Error/Code", "AccessDenied");
    CHECK_VALUE(error, "ErrorResponse/Error/Type", "Sender");
    CHECK_VALUE(error, "ErrorResponse/RequestId", "4f2c-example");
    CHECK_VALUE(error, "ErrorResponse/Error/Message",
                "User: arn:aws:iam::123456789012:user/x is not authorized to perform: "
                "sts:AssumeRole on resource: arn:aws:iam::123456789012:role/r & <more> \"q\" "
                "'a' AB\xE2\x82\xAC\xF0\x9F\x98\x80");
}

static void test_forms(void)
{
    /* Prefixes are ignored; the first element at the path wins. */
    CHECK_VALUE("<s:A xmlns:s=\"u\"><s:B>1</s:B><B>2</B></s:A>", "A/B", "1");
    CHECK_VALUE("<A><B>first</B><B>second</B></A>", "A/B", "first");
    CHECK_VALUE("<A><X><B>no</B></X><B>yes</B></A>", "A/B", "yes");
    /* CDATA, comments and processing instructions inside, white space kept. */
    CHECK_VALUE("<A><B> a<![CDATA[<&>]]>b<!-- c --><?pi x?> </B></A>", "A/B", " a<&>b ");
    /* Empty elements. */
    CHECK_VALUE("<A><B/></A>", "A/B", "");
    CHECK_VALUE("<A><B></B></A>", "A/B", "");
    CHECK_VALUE("<A><B attr='1' other=\"&amp;2\" /></A>", "A/B", "");
    /* A byte order mark, a declaration, misc around the root, a line break in an end tag. */
    CHECK_VALUE("\xEF\xBB\xBF<?xml version='1.0'?>\n<!-- hi -->\n<A>v</A\n>\n<?done?>\n", "A",
                "v");
    /* The root itself, and single-step paths. */
    CHECK_VALUE("<A>top</A>", "A", "top");
    CHECK_VALUE("<A>top</A>", "B", "<absent>");
    /* "]]" without ">" and a lone ">" are fine in text. */
    CHECK_VALUE("<A>]] > ]]</A>", "A", "]] > ]]");
    /* Not NUL-terminated: len is the end. */
    kvi_buf out = KVI_BUF_INIT;
    const char *doc = "<A>x</A>GARBAGE";
    CHECK_INT(kvi_xml_value(doc, 8, "A", &out, NULL), KVI_XML_FOUND);
    CHECK_STR(kvi_buf_str(&out), "x");
    CHECK_INT(kvi_xml_value(doc, strlen(doc), "A", &out, NULL), KVI_XML_MALFORMED);
    /* The buffer is replaced, not appended to. */
    kvi_buf_puts(&out, "old");
    CHECK_INT(kvi_xml_value("<A>new</A>", 10, "A", &out, NULL), KVI_XML_FOUND);
    CHECK_STR(kvi_buf_str(&out), "new");
    kvi_buf_free(&out);
}

static void test_malformed(void)
{
    static const char *const bad[] = {
        "",
        "   ",
        "text",
        "<A>",
        "<A>x",
        "<A></B>",
        "<A><B></A></B>",
        "</A>",
        "<A></A><B></B>",
        "<A></A>trailing",
        "<A/>x",
        "<!DOCTYPE A [<!ENTITY e \"boom\">]><A>&e;</A>",
        "<A>&e;</A>",
        "<A>&amp</A>",
        "<A>&#;</A>",
        "<A>&#x;</A>",
        "<A>&#0;</A>",
        "<A>&#x8;</A>",
        "<A>&#xD800;</A>",
        "<A>&#xFFFE;</A>",
        "<A>&#x110000;</A>",
        "<A>&#99999999999999999999;</A>",
        "<A>&#X41;</A>",
        "<A>&#12a;</A>",
        "<A>]]></A>",
        "<A><!-- a -- b --></A>",
        "<A><!-- open</A>",
        "<A><![CDATA[open</A>",
        "<A><?pi open</A>",
        "<A><!ELEMENT x></A>",
        "<A x=1></A>",
        "<A x=\"1\"y=\"2\"></A>",
        "<A x></A>",
        "<A x=\"<\"></A>",
        "<A x=\"&bad;\"></A>",
        "<A x=\"open></A>",
        "<A",
        "<A/",
        "<1A></1A>",
        "< A></A>",
        "<A></ A>",
        "<A>\x01</A>",
        "<A>\xC0\xAF</A>",
        "<A>\xED\xA0\x80</A>",
        "<A>\xF4\x90\x80\x80</A>",
        "<A>\xE2\x82</A>",
        "<A>\xFF</A>",
        "<A></A><?xml version='1.0'?>",
        "<A><?xml version='1.0'?></A>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(is_malformed(bad[i], "A"));
    /* A NUL inside the given length. */
    kvi_buf out = KVI_BUF_INIT;
    CHECK_INT(kvi_xml_value("<A>a\0b</A>", 10, "A", &out, NULL), KVI_XML_MALFORMED);
    /* Bad paths. */
    CHECK_INT(kvi_xml_value("<A/>", 4, "", &out, NULL), KVI_XML_MALFORMED);
    CHECK_INT(kvi_xml_value("<A/>", 4, "A//B", &out, NULL), KVI_XML_MALFORMED);
    CHECK_INT(kvi_xml_value("<A/>", 4, "A/", &out, NULL), KVI_XML_MALFORMED);
    CHECK_INT(kvi_xml_value("<A/>", 4, "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q", &out, NULL),
              KVI_XML_MALFORMED);
    CHECK_INT(kvi_xml_value(NULL, 0, "A", &out, NULL), KVI_XML_MALFORMED);
    kvi_buf_free(&out);
}

static void test_bounds(void)
{
    /* Deep nesting stops at the limit (no recursion, no crash). */
    kvi_buf doc = KVI_BUF_INIT;
    for (int i = 0; i < 100000; i++)
        kvi_buf_puts(&doc, "<a>");
    CHECK(is_malformed(kvi_buf_str(&doc), "a"));
    kvi_buf_reset(&doc);
    for (int i = 0; i < KVI_XML_MAX_DEPTH; i++)
        kvi_buf_puts(&doc, "<a>");
    kvi_buf_puts(&doc, "v");
    for (int i = 0; i < KVI_XML_MAX_DEPTH; i++)
        kvi_buf_puts(&doc, "</a>");
    CHECK_VALUE(kvi_buf_str(&doc), "a", "");
    CHECK_VALUE(kvi_buf_str(&doc), "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a", "");
    kvi_buf_reset(&doc);
    for (int i = 0; i <= KVI_XML_MAX_DEPTH; i++)
        kvi_buf_puts(&doc, "<a>");
    for (int i = 0; i <= KVI_XML_MAX_DEPTH; i++)
        kvi_buf_puts(&doc, "</a>");
    CHECK(is_malformed(kvi_buf_str(&doc), "a"));
    kvi_buf_free(&doc);
    /* Too large. */
    size_t big = KVI_XML_MAX_DOC + 1;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    memcpy(huge, "<A>", 3);
    kvi_buf out = KVI_BUF_INIT;
    CHECK_INT(kvi_xml_value(huge, big, "A", &out, NULL), KVI_XML_MALFORMED);
    kvi_buf_free(&out);
    free(huge);
}

int main(void)
{
    test_sts_documents();
    test_forms();
    test_malformed();
    test_bounds();
    return CHECK_DONE();
}
