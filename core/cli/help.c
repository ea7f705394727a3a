/* SPDX-License-Identifier: Apache-2.0 */
/* help.c - the help texts: `kvsws help` and `kvsws COMMAND help`, laid out as the AWS CLI's
 * (NAME, DESCRIPTION, SYNOPSIS, OPTIONS, GLOBAL OPTIONS, EXAMPLES, OUTPUT). */
#include <stdio.h>
#include <string.h>

#include "help.h"

#define ARN_OPTION                                                                                \
    "   --channel-arn (string)\n"                                                                 \
    "      The signaling channel's ARN: 1 to 1024 characters matching\n"                         \
    "      arn:(aws[a-zA-Z-]*):kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+/[a-zA-Z0-9_.-]+/[0-9]+\n"

#define NAME_OPTION                                                                               \
    "   --channel-name (string)\n"                                                                \
    "      The signaling channel's name: 1 to 256 characters of [a-zA-Z0-9_.-].\n"

#define GLOBALS                                                                                   \
    "GLOBAL OPTIONS\n"                                                                            \
    "   --region, --endpoint-url, --profile, --ca-bundle, --output, --debug,\n"                  \
    "   --cli-connect-timeout, --cli-read-timeout, --cli-request-timeout:\n"                     \
    "   see \"kvsws help\".\n\n"

static const char TOP[] =
    "KVSWS()                                                                  KVSWS()\n"
    "\n"
    "NAME\n"
    "   kvsws - Amazon Kinesis Video Streams WebRTC storage sessions\n"
    "\n"
    "DESCRIPTION\n"
    "   Calls the Kinesis Video Streams signaling and storage APIs a storage\n"
    "   session uses, shaped like the AWS CLI: the same global options, error\n"
    "   line and exit codes (0 success, 252 bad arguments, 253 no credentials\n"
    "   or region, 254 service error, 255 anything else).\n"
    "\n"
    "SYNOPSIS\n"
    "      kvsws [options] <command> [parameters]\n"
    "\n"
    "   Use \"kvsws <command> help\" for a command's options and an example.\n"
    "\n"
    "GLOBAL OPTIONS\n"
    "   --region (string)\n"
    "      The region to use. Overrides AWS_REGION, AWS_DEFAULT_REGION and the\n"
    "      profile's region.\n"
    "\n"
    "   --endpoint-url (string)\n"
    "      Sends the calls to this URL instead of the region's endpoint.\n"
    "\n"
    "   --profile (string)\n"
    "      A profile from the shared config and credentials files.\n"
    "\n"
    "   --ca-bundle (string)\n"
    "      The CA certificate bundle (PEM) to verify TLS with.\n"
    "\n"
    "   --output (string)\n"
    "      The output format: json (the default), text or table. Overrides\n"
    "      AWS_DEFAULT_OUTPUT and the profile's output setting.\n"
    "\n"
    "   --debug (boolean)\n"
    "      Logs each request, with its canonical request and string to sign\n"
    "      (never a secret), to stderr.\n"
    "\n"
    "   --cli-connect-timeout (int)\n"
    "   --cli-read-timeout (int)\n"
    "   --cli-request-timeout (int)\n"
    "      Seconds (0 to 3600) to connect, to wait for a byte, and for a whole\n"
    "      request (each attempt).\n"
    "\n"
    "   --version (boolean)\n"
    "      Prints the version and exits.\n"
    "\n"
    "AVAILABLE COMMANDS\n"
    "   o describe-media-storage-configuration\n"
    "   o describe-signaling-channel\n"
    "   o get-ice-server-config\n"
    "   o get-signaling-channel-endpoint\n"
    "   o help\n"
    "   o join-storage-session\n"
    "   o join-storage-session-as-viewer\n"
    "   o sign\n"
    "\n"
    "EXAMPLES\n"
    "      kvsws --output table describe-signaling-channel --channel-name my-channel\n"
    "      kvsws describe-signaling-channel help\n";

typedef struct help_text {
    const char *command;
    const char *text;
} help_text;

static const help_text TEXTS[] = {
    {"join-storage-session",
     "NAME\n"
     "   join-storage-session -\n"
     "\n"
     "DESCRIPTION\n"
     "   Asks the storage service (JoinStorageSession) to join the channel's\n"
     "   storage session as the master: it sends one SDP offer on the channel's\n"
     "   signaling WebSocket. Every call sends one more offer. The WEBRTC endpoint\n"
     "   is looked up with GetSignalingChannelEndpoint.\n"
     "\n"
     "SYNOPSIS\n"
     "     join-storage-session\n"
     "   --channel-arn <value>\n"
     "\n"
     "OPTIONS\n" ARN_OPTION
     "\n" GLOBALS
     "EXAMPLES\n"
     "      kvsws join-storage-session \\\n"
     "          --channel-arn arn:aws:kinesisvideo:us-west-2:123456789012:channel/cam/1\n"
     "\n"
     "OUTPUT\n"
     "   None (exit 0).\n"},
    {"join-storage-session-as-viewer",
     "NAME\n"
     "   join-storage-session-as-viewer -\n"
     "\n"
     "DESCRIPTION\n"
     "   Joins the channel's storage session as a viewer\n"
     "   (JoinStorageSessionAsViewer) with the given client id.\n"
     "\n"
     "SYNOPSIS\n"
     "     join-storage-session-as-viewer\n"
     "   --channel-arn <value>\n"
     "   --client-id <value>\n"
     "\n"
     "OPTIONS\n" ARN_OPTION
     "\n"
     "   --client-id (string)\n"
     "      The viewer's id: 1 to 256 characters of [a-zA-Z0-9_.-].\n"
     "\n" GLOBALS
     "EXAMPLES\n"
     "      kvsws join-storage-session-as-viewer --client-id viewer-1 \\\n"
     "          --channel-arn arn:aws:kinesisvideo:us-west-2:123456789012:channel/cam/1\n"
     "\n"
     "OUTPUT\n"
     "   None (exit 0).\n"},
    {"get-signaling-channel-endpoint",
     "NAME\n"
     "   get-signaling-channel-endpoint -\n"
     "\n"
     "DESCRIPTION\n"
     "   Returns the channel's endpoints (GetSignalingChannelEndpoint) for the\n"
     "   given protocols and role. WEBRTC needs a channel with media storage\n"
     "   enabled (InvalidArgumentException otherwise).\n"
     "\n"
     "SYNOPSIS\n"
     "     get-signaling-channel-endpoint\n"
     "   --channel-arn <value>\n"
     "   [--role <value>]\n"
     "   [--protocols <value>]\n"
     "\n"
     "OPTIONS\n" ARN_OPTION
     "\n"
     "   --role (string)\n"
     "      MASTER (the default) or VIEWER.\n"
     "\n"
     "   --protocols (string)\n"
     "      A comma-separated list of WSS, HTTPS and WEBRTC, each at most once\n"
     "      (default: WSS,HTTPS,WEBRTC).\n"
     "\n" GLOBALS
     "EXAMPLES\n"
     "      kvsws get-signaling-channel-endpoint --protocols WSS,HTTPS --role VIEWER \\\n"
     "          --channel-arn arn:aws:kinesisvideo:us-west-2:123456789012:channel/cam/1\n"
     "\n"
     "OUTPUT\n"
     "   ResourceEndpointList -> (list)\n"
     "      Protocol -> (string)\n"
     "      ResourceEndpoint -> (string)\n"},
    {"describe-signaling-channel",
     "NAME\n"
     "   describe-signaling-channel -\n"
     "\n"
     "DESCRIPTION\n"
     "   Describes a signaling channel (DescribeSignalingChannel), named by its\n"
     "   ARN or its name (exactly one of the two).\n"
     "\n"
     "SYNOPSIS\n"
     "     describe-signaling-channel\n"
     "   [--channel-arn <value>]\n"
     "   [--channel-name <value>]\n"
     "\n"
     "OPTIONS\n" ARN_OPTION "\n" NAME_OPTION
     "\n" GLOBALS
     "EXAMPLES\n"
     "      kvsws --output text describe-signaling-channel --channel-name cam\n"
     "\n"
     "OUTPUT\n"
     "   ChannelInfo -> (structure)\n"
     "      ChannelName, ChannelARN, ChannelType, ChannelStatus -> (string)\n"
     "      CreationTime -> (timestamp, printed as ISO 8601 in local time)\n"
     "      SingleMasterConfiguration -> (structure)\n"
     "         MessageTtlSeconds -> (integer)\n"
     "      Version -> (string)\n"},
    {"describe-media-storage-configuration",
     "NAME\n"
     "   describe-media-storage-configuration -\n"
     "\n"
     "DESCRIPTION\n"
     "   Tells whether the channel records to a stream\n"
     "   (DescribeMediaStorageConfiguration), named by its ARN or its name\n"
     "   (exactly one of the two).\n"
     "\n"
     "SYNOPSIS\n"
     "     describe-media-storage-configuration\n"
     "   [--channel-arn <value>]\n"
     "   [--channel-name <value>]\n"
     "\n"
     "OPTIONS\n" ARN_OPTION "\n" NAME_OPTION
     "\n" GLOBALS
     "EXAMPLES\n"
     "      kvsws describe-media-storage-configuration --channel-name cam\n"
     "\n"
     "OUTPUT\n"
     "   MediaStorageConfiguration -> (structure)\n"
     "      StreamARN -> (string, or null)\n"
     "      Status -> (string: ENABLED or DISABLED)\n"},
    {"get-ice-server-config",
     "NAME\n"
     "   get-ice-server-config -\n"
     "\n"
     "DESCRIPTION\n"
     "   Returns TURN servers and their credentials for the channel\n"
     "   (GetIceServerConfig), from the channel's HTTPS endpoint.\n"
     "\n"
     "SYNOPSIS\n"
     "     get-ice-server-config\n"
     "   --channel-arn <value>\n"
     "   [--client-id <value>]\n"
     "   [--service <value>]\n"
     "\n"
     "OPTIONS\n" ARN_OPTION
     "\n"
     "   --client-id (string)\n"
     "      1 to 256 characters of [a-zA-Z0-9_.-].\n"
     "\n"
     "   --service (string)\n"
     "      TURN (the only value, and the default).\n"
     "\n" GLOBALS
     "EXAMPLES\n"
     "      kvsws get-ice-server-config --client-id me \\\n"
     "          --channel-arn arn:aws:kinesisvideo:us-west-2:123456789012:channel/cam/1\n"
     "\n"
     "OUTPUT\n"
     "   IceServerList -> (list)\n"
     "      Uris -> (list of strings)\n"
     "      Username, Password -> (string)\n"
     "      Ttl -> (integer, seconds)\n"},
    {"sign",
     "NAME\n"
     "   sign -\n"
     "\n"
     "DESCRIPTION\n"
     "   Signs any request with SigV4 and prints the result, for chasing\n"
     "   SignatureDoesNotMatch: the headers to add (or, with --presign, the\n"
     "   presigned URL); --debug adds the canonical request and string to sign.\n"
     "   Credentials come from the usual chain (environment, profile, ...).\n"
     "\n"
     "SYNOPSIS\n"
     "     sign\n"
     "   --method <value>\n"
     "   --url <value>\n"
     "   --service <value>\n"
     "   --region <value>\n"
     "   [--header <value>]...\n"
     "   [--body <value> | --body-file <value>]\n"
     "   [--timestamp <value>]\n"
     "   [--no-normalize-path]\n"
     "   [--presign [--expires <value>]]\n"
     "   [--output <value>]\n"
     "\n"
     "OPTIONS\n"
     "   --method (string)      The HTTP method.\n"
     "   --url (string)         The URL; its path is signed literally.\n"
     "   --service (string)     The SigV4 service name.\n"
     "   --region (string)      The region (or the global --region).\n"
     "   --header (string)      'Name: value', repeatable (at most 64).\n"
     "   --body, --body-file    The payload (text, or a file of at most 64 MiB).\n"
     "   --timestamp (string)   The signing time, YYYYMMDDTHHMMSSZ (default: now).\n"
     "   --no-normalize-path    Signs the path without normalizing it (S3).\n"
     "   --presign              A presigned URL instead of headers.\n"
     "   --expires (int)        With --presign: 1 to 604800 seconds (default 3600).\n"
     "   --output (string)      text (the default) or json.\n"
     "\n" GLOBALS
     "EXAMPLES\n"
     "      kvsws sign --method GET --url 'https://example.amazonaws.com/?a=b' \\\n"
     "          --service service --region us-east-1 --timestamp 20150830T123600Z\n"
     "\n"
     "OUTPUT\n"
     "   The headers to add, one a line; with --presign the URL; with\n"
     "   --output json an object with canonical_request, string_to_sign,\n"
     "   signature and headers (or url).\n"},
};

void cli_help_usage(FILE *out)
{
    fputs("usage: kvsws [options] <command> [parameters]\n"
          "To see help text, you can run:\n"
          "\n"
          "  kvsws help\n"
          "  kvsws <command> help\n",
          out);
}

void cli_help_top(void)
{
    fputs(TOP, stdout);
}

int cli_help_command(const char *name)
{
    for (size_t i = 0; i < sizeof TEXTS / sizeof TEXTS[0]; i++)
        if (!strcmp(TEXTS[i].command, name)) {
            fputs(TEXTS[i].text, stdout);
            return 0;
        }
    return -1;
}
