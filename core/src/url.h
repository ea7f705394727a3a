/* url.h - splitting an endpoint URL into what HTTP and the signer need. */
#ifndef KVSWS_URL_H
#define KVSWS_URL_H

typedef struct kvi_url {
    char *scheme; /* "https" / "wss", lowercased */
    char *host;   /* without brackets or port */
    char *authority; /* the Host header value: host, plus ":port" when not the scheme's default */
    int port;
    char *path;   /* "" or "/..." without a trailing '/' */
} kvi_url;

/* 0 ok, -1 on a malformed URL (with *why set). */
int kvi_url_parse(const char *url, kvi_url *out, const char **why);
void kvi_url_free(kvi_url *u);

#endif
