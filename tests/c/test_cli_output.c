/* SPDX-License-Identifier: Apache-2.0 */
/* test_cli_output.c - the CLI's --output formats on shapes beyond today's responses; every
 * expected text is what the AWS CLI's own formatters print for the same document. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "output.h"

static const struct {
    const char *format;
    size_t columns;
    const char *json;
    const char *want;
} CASES[] = {
    /* a list of dicts with different keys, nested lists, null, true, a float */
    {"json", 80,
     "{\"A\": [{\"x\": 1, \"y\": [1, 2]}, {\"x\": 2, \"z\": \"q\"}], \"B\": true, \"C\": null, \"D\": 1.5}",
     "{\n"
     "    \"A\": [\n"
     "        {\n"
     "            \"x\": 1,\n"
     "            \"y\": [\n"
     "                1,\n"
     "                2\n"
     "            ]\n"
     "        },\n"
     "        {\n"
     "            \"x\": 2,\n"
     "            \"z\": \"q\"\n"
     "        }\n"
     "    ],\n"
     "    \"B\": true,\n"
     "    \"C\": null,\n"
     "    \"D\": 1.5\n"
     "}\n"},
    /* a list of dicts with different keys, nested lists, null, true, a float */
    {"text", 80,
     "{\"A\": [{\"x\": 1, \"y\": [1, 2]}, {\"x\": 2, \"z\": \"q\"}], \"B\": true, \"C\": null, \"D\": 1.5}",
     "True\tNone\t1.5\n"
     "A\t1\t\n"
     "Y\t1\n"
     "Y\t2\n"
     "A\t2\tq\n"},
    /* a list of dicts with different keys, nested lists, null, true, a float */
    {"table", 80,
     "{\"A\": [{\"x\": 1, \"y\": [1, 2]}, {\"x\": 2, \"z\": \"q\"}], \"B\": true, \"C\": null, \"D\": 1.5}",
     "-------------------------\n"
     "|          Op           |\n"
     "+------+--------+-------+\n"
     "|   B  |   C    |   D   |\n"
     "+------+--------+-------+\n"
     "|  True|  None  |  1.5  |\n"
     "+------+--------+-------+\n"
     "||          A          ||\n"
     "|+---------+-----------+|\n"
     "||    x    |     z     ||\n"
     "|+---------+-----------+|\n"
     "||  1      |           ||\n"
     "|+---------+-----------+|\n"
     "|||         y         |||\n"
     "||+-------------------+||\n"
     "|||  1                |||\n"
     "|||  2                |||\n"
     "||+-------------------+||\n"
     "||          A          ||\n"
     "|+---------+-----------+|\n"
     "||    x    |     z     ||\n"
     "|+---------+-----------+|\n"
     "||  2      |  q        ||\n"
     "|+---------+-----------+|\n"},
    /* lists of lists and mixed lists; empty members are skipped */
    {"json", 80,
     "{\"L\": [[1, 2], [3, 4]], \"M\": [\"a\", [\"b\", \"c\"]], \"E\": [], \"F\": {}}",
     "{\n"
     "    \"L\": [\n"
     "        [\n"
     "            1,\n"
     "            2\n"
     "        ],\n"
     "        [\n"
     "            3,\n"
     "            4\n"
     "        ]\n"
     "    ],\n"
     "    \"M\": [\n"
     "        \"a\",\n"
     "        [\n"
     "            \"b\",\n"
     "            \"c\"\n"
     "        ]\n"
     "    ],\n"
     "    \"E\": [],\n"
     "    \"F\": {}\n"
     "}\n"},
    /* lists of lists and mixed lists; empty members are skipped */
    {"text", 80,
     "{\"L\": [[1, 2], [3, 4]], \"M\": [\"a\", [\"b\", \"c\"]], \"E\": [], \"F\": {}}",
     "L\t1\n"
     "L\t2\n"
     "L\t3\n"
     "L\t4\n"
     "M\ta\n"
     "M\tb\n"
     "M\tc\n"},
    /* nesting three deep */
    {"json", 80,
     "{\"Top\": \"s\", \"Nested\": {\"Inner\": {\"Deep\": [{\"k\": \"v\"}]}}}",
     "{\n"
     "    \"Top\": \"s\",\n"
     "    \"Nested\": {\n"
     "        \"Inner\": {\n"
     "            \"Deep\": [\n"
     "                {\n"
     "                    \"k\": \"v\"\n"
     "                }\n"
     "            ]\n"
     "        }\n"
     "    }\n"
     "}\n"},
    /* nesting three deep */
    {"text", 80,
     "{\"Top\": \"s\", \"Nested\": {\"Inner\": {\"Deep\": [{\"k\": \"v\"}]}}}",
     "s\n"
     "DEEP\tv\n"},
    /* nesting three deep */
    {"table", 80,
     "{\"Top\": \"s\", \"Nested\": {\"Inner\": {\"Deep\": [{\"k\": \"v\"}]}}}",
     "--------------\n"
     "|     Op     |\n"
     "+------+-----+\n"
     "|  Top |  s  |\n"
     "+------+-----+\n"
     "||  Nested  ||\n"
     "|+----------+|\n"
     "|||  Inner |||\n"
     "||+--------+||\n"
     "|||| Deep ||||\n"
     "|||+------+|||\n"
     "||||   k  ||||\n"
     "|||+------+|||\n"
     "||||  v   ||||\n"
     "|||+------+|||\n"},
    /* UTF-8 as is, in JSON too (ensure_ascii=False) */
    {"json", 80,
     "{\"U\": \"h\xc3""\xa9""llo\", \"V\": [{\"a\": \"\xc3""\xbc""\", \"b\": null}]}",
     "{\n"
     "    \"U\": \"h\xc3""\xa9""llo\",\n"
     "    \"V\": [\n"
     "        {\n"
     "            \"a\": \"\xc3""\xbc""\",\n"
     "            \"b\": null\n"
     "        }\n"
     "    ]\n"
     "}\n"},
    /* UTF-8 as is, in JSON too (ensure_ascii=False) */
    {"text", 80,
     "{\"U\": \"h\xc3""\xa9""llo\", \"V\": [{\"a\": \"\xc3""\xbc""\", \"b\": null}]}",
     "h\xc3""\xa9""llo\n"
     "V\t\xc3""\xbc""\tNone\n"},
    /* a list of dicts each with a nested list: one section per element */
    {"json", 80,
     "{\"IceServerList\": [{\"Uris\": [\"turn:a\", \"turn:b\"], \"Username\": \"u\", \"Password\": \"p\", \"Ttl\": 300}, {\"Uris\": [\"turn:c\"], \"Username\": \"u2\", \"Password\": \"p2\", \"Ttl\": 301}]}",
     "{\n"
     "    \"IceServerList\": [\n"
     "        {\n"
     "            \"Uris\": [\n"
     "                \"turn:a\",\n"
     "                \"turn:b\"\n"
     "            ],\n"
     "            \"Username\": \"u\",\n"
     "            \"Password\": \"p\",\n"
     "            \"Ttl\": 300\n"
     "        },\n"
     "        {\n"
     "            \"Uris\": [\n"
     "                \"turn:c\"\n"
     "            ],\n"
     "            \"Username\": \"u2\",\n"
     "            \"Password\": \"p2\",\n"
     "            \"Ttl\": 301\n"
     "        }\n"
     "    ]\n"
     "}\n"},
    /* a list of dicts each with a nested list: one section per element */
    {"text", 80,
     "{\"IceServerList\": [{\"Uris\": [\"turn:a\", \"turn:b\"], \"Username\": \"u\", \"Password\": \"p\", \"Ttl\": 300}, {\"Uris\": [\"turn:c\"], \"Username\": \"u2\", \"Password\": \"p2\", \"Ttl\": 301}]}",
     "ICESERVERLIST\tp\t300\tu\n"
     "URIS\tturn:a\n"
     "URIS\tturn:b\n"
     "ICESERVERLIST\tp2\t301\tu2\n"
     "URIS\tturn:c\n"},
    /* a list of dicts each with a nested list: one section per element */
    {"table", 80,
     "{\"IceServerList\": [{\"Uris\": [\"turn:a\", \"turn:b\"], \"Username\": \"u\", \"Password\": \"p\", \"Ttl\": 300}, {\"Uris\": [\"turn:c\"], \"Username\": \"u2\", \"Password\": \"p2\", \"Ttl\": 301}]}",
     "-----------------------------------\n"
     "|               Op                |\n"
     "+---------------------------------+\n"
     "||         IceServerList         ||\n"
     "|+-----------+------+------------+|\n"
     "|| Password  | Ttl  | Username   ||\n"
     "|+-----------+------+------------+|\n"
     "||  p        |  300 |  u         ||\n"
     "|+-----------+------+------------+|\n"
     "|||            Uris             |||\n"
     "||+-----------------------------+||\n"
     "|||  turn:a                     |||\n"
     "|||  turn:b                     |||\n"
     "||+-----------------------------+||\n"
     "||         IceServerList         ||\n"
     "|+-----------+------+------------+|\n"
     "|| Password  | Ttl  | Username   ||\n"
     "|+-----------+------+------------+|\n"
     "||  p2       |  301 |  u2        ||\n"
     "|+-----------+------+------------+|\n"
     "|||            Uris             |||\n"
     "||+-----------------------------+||\n"
     "|||  turn:c                     |||\n"
     "||+-----------------------------+||\n"},
    /* a dict with a single scalar: key and value on one row */
    {"json", 80,
     "{\"Only\": {\"One\": 1}}",
     "{\n"
     "    \"Only\": {\n"
     "        \"One\": 1\n"
     "    }\n"
     "}\n"},
    /* a dict with a single scalar: key and value on one row */
    {"text", 80,
     "{\"Only\": {\"One\": 1}}",
     "ONLY\t1\n"},
    /* a dict with a single scalar: key and value on one row */
    {"table", 80,
     "{\"Only\": {\"One\": 1}}",
     "----------------\n"
     "|      Op      |\n"
     "+--------------+\n"
     "||    Only    ||\n"
     "|+------+-----+|\n"
     "||  One |  1  ||\n"
     "|+------+-----+|\n"},
    /* wider than the terminal: one-row sections turn vertical */
    {"table", 80,
     "{\"Wide\": {\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\", \"B\": \"y\"}}",
     "-------------------------------------------------------------------------\n"
     "|                                  Op                                   |\n"
     "+-----------------------------------------------------------------------+\n"
     "||                                Wide                                 ||\n"
     "|+----------------------------------------------------------------+----+|\n"
     "||                 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA                 | B  ||\n"
     "|+----------------------------------------------------------------+----+|\n"
     "||  xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx  |  y ||\n"
     "|+----------------------------------------------------------------+----+|\n"},
    /* the same on a wider terminal: a header row and a value row */
    {"table", 200,
     "{\"Wide\": {\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\", \"B\": \"y\"}}",
     "-------------------------------------------------------------------------\n"
     "|                                  Op                                   |\n"
     "+-----------------------------------------------------------------------+\n"
     "||                                Wide                                 ||\n"
     "|+----------------------------------------------------------------+----+|\n"
     "||                 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA                 | B  ||\n"
     "|+----------------------------------------------------------------+----+|\n"
     "||  xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx  |  y ||\n"
     "|+----------------------------------------------------------------+----+|\n"},
    /* an element without the nested member */
    {"json", 80,
     "{\"X\": [{\"a\": 1, \"b\": {\"c\": 2}}, {\"a\": 3}]}",
     "{\n"
     "    \"X\": [\n"
     "        {\n"
     "            \"a\": 1,\n"
     "            \"b\": {\n"
     "                \"c\": 2\n"
     "            }\n"
     "        },\n"
     "        {\n"
     "            \"a\": 3\n"
     "        }\n"
     "    ]\n"
     "}\n"},
    /* an element without the nested member */
    {"text", 80,
     "{\"X\": [{\"a\": 1, \"b\": {\"c\": 2}}, {\"a\": 3}]}",
     "X\t1\n"
     "B\t2\n"
     "X\t3\n"},
    /* an element without the nested member */
    {"table", 80,
     "{\"X\": [{\"a\": 1, \"b\": {\"c\": 2}}, {\"a\": 3}]}",
     "----------------\n"
     "|      Op      |\n"
     "+--------------+\n"
     "||      X     ||\n"
     "|+------------+|\n"
     "||      a     ||\n"
     "|+------------+|\n"
     "||  1         ||\n"
     "|+------------+|\n"
     "|||     b    |||\n"
     "||+----+-----+||\n"
     "|||  c |  2  |||\n"
     "||+----+-----+||\n"
     "||      X     ||\n"
     "|+------------+|\n"
     "||      a     ||\n"
     "|+------------+|\n"
     "||  3         ||\n"
     "|+------------+|\n"},
    /* scalars: tabs escaped in JSON, kept in text */
    {"json", 80,
     "{\"N\": [1, 2, 3], \"S\": \"x\\ty\\\"\\\\\"}",
     "{\n"
     "    \"N\": [\n"
     "        1,\n"
     "        2,\n"
     "        3\n"
     "    ],\n"
     "    \"S\": \"x\\ty\\\"\\\\\"\n"
     "}\n"},
    /* scalars: tabs escaped in JSON, kept in text */
    {"text", 80,
     "{\"N\": [1, 2, 3], \"S\": \"x\\ty\\\"\\\\\"}",
     "x\ty\"\\\n"
     "N\t1\n"
     "N\t2\n"
     "N\t3\n"},
    /* scalars: tabs escaped in JSON, kept in text */
    {"table", 80,
     "{\"N\": [1, 2, 3], \"S\": \"x\\ty\\\"\\\\\"}",
     "----------------\n"
     "|      Op      |\n"
     "+----+---------+\n"
     "|  S |  x\ty\"\\  |\n"
     "+----+---------+\n"
     "||      N     ||\n"
     "|+------------+|\n"
     "||  1         ||\n"
     "||  2         ||\n"
     "||  3         ||\n"
     "|+------------+|\n"},
    /* numbers as Python prints them */
    {"json", 80,
     "{\"Num\": 0.1, \"Big\": 12345678901234, \"Neg\": -3, \"F\": false}",
     "{\n"
     "    \"Num\": 0.1,\n"
     "    \"Big\": 12345678901234,\n"
     "    \"Neg\": -3,\n"
     "    \"F\": false\n"
     "}\n"},
    /* numbers as Python prints them */
    {"text", 80,
     "{\"Num\": 0.1, \"Big\": 12345678901234, \"Neg\": -3, \"F\": false}",
     "12345678901234\tFalse\t-3\t0.1\n"},
    /* numbers as Python prints them */
    {"table", 80,
     "{\"Num\": 0.1, \"Big\": 12345678901234, \"Neg\": -3, \"F\": false}",
     "-------------------------------------------\n"
     "|                   Op                    |\n"
     "+-----------------+--------+------+-------+\n"
     "|       Big       |   F    | Neg  |  Num  |\n"
     "+-----------------+--------+------+-------+\n"
     "|  12345678901234 |  False |  -3  |  0.1  |\n"
     "+-----------------+--------+------+-------+\n"},
};

/* The printed text, malloc'd. */
static char *render(size_t columns, const char *format, const char *operation, const char *json)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    cli_print_output_to(out, columns, format, operation, json);
    fclose(out);
    return text;
}

static void check_timestamp(const char *tz, const char *epoch, const char *want)
{
    setenv("TZ", tz, 1);
    tzset();
    char json[128], expected[256];
    snprintf(json, sizeof json, "{\"ChannelInfo\": {\"CreationTime\": %s, \"Version\": \"1\"}}",
             epoch);
    snprintf(expected, sizeof expected, "CHANNELINFO\t%s\t1\n", want);
    char *text = render(80, "text", "DescribeSignalingChannel", json);
    CHECK_STR(text, expected);
    free(text);
}

int main(void)
{
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char *text = render(CASES[i].columns, CASES[i].format, "Op", CASES[i].json);
        CHECK_STR(text, CASES[i].want);
        free(text);
    }
    /* datetime.fromtimestamp(v, tzlocal()).isoformat(): microseconds only when not zero */
    check_timestamp("UTC", "1704164645", "2024-01-02T03:04:05+00:00");
    check_timestamp("UTC", "1704164645.123", "2024-01-02T03:04:05.123000+00:00");
    check_timestamp("IST-5:30", "1704164645.5", "2024-01-02T08:34:05.500000+05:30");
    check_timestamp("EST+5", "1704164645", "2024-01-01T22:04:05-05:00");
    check_timestamp("UTC", "0.9999996", "1970-01-01T00:00:01+00:00");
    /* Only the modelled timestamp members: the same member of another operation stays a number */
    char *text = render(80, "json", "GetIceServerConfig", "{\"ChannelInfo\": {\"CreationTime\": 1}}");
    CHECK_STR(text, "{\n    \"ChannelInfo\": {\n        \"CreationTime\": 1\n    }\n}\n");
    free(text);
    /* Not JSON: printed as it came */
    text = render(80, "table", "Op", "not json");
    CHECK_STR(text, "not json\n");
    free(text);
    /* An empty output prints nothing in table and text (the AWS CLI's too) */
    text = render(80, "table", "Op", "{}");
    CHECK_STR(text, "");
    free(text);
    text = render(80, "text", "Op", "{}");
    CHECK_STR(text, "");
    free(text);
    return CHECK_DONE();
}
