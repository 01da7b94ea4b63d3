/*
 * fuzz_top.c — what `sluice top` reads from the network: an HTTP response
 * (core/src/cli/httpclient.c: status line, headers, Content-Length or
 * chunked body) and the JSON in it, drawn as a frame (cli/top_view.c).
 *
 * Input: a width byte (0: no limit, else 10..265 columns), a height byte
 * (0: no limit, else 1..64 rows), then the response as a server would send
 * it. What must hold: a refused response has a message; an accepted body
 * lies within the input; a body that parses as JSON is drawn (as the
 * status, the batches and the graph at once, so that every field reader
 * meets every shape) into at most `height` lines of at most `width`
 * columns that hold no control character but '\n' — whatever the server
 * sends, it cannot move the cursor or wrap a line of the terminal.
 */
#define FUZZ_ITERATIONS 20000
#include "driver.h"
#include "httpclient.h"
#include "internal.h"
#include "top.h"

/* Check the frame: widths, height, no control bytes. */
static void check_frame(const char *text, int width, int height) {
    int lines = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        if (!nl) {
            fprintf(stderr, "fuzz: a frame's last line has no newline\n");
            abort();
        }
        char line[16384];
        size_t n = (size_t)(nl - p);
        if (n >= sizeof line) {
            fprintf(stderr, "fuzz: a line of %zu bytes\n", n);
            abort();
        }
        memcpy(line, p, n);
        line[n] = '\0';
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) {
                fprintf(stderr, "fuzz: control byte 0x%02x in line '%s'\n", line[i], line);
                abort();
            }
        if (width > 0 && sl__top_text_width(line) > width) {
            fprintf(stderr, "fuzz: line wider than %d: '%s'\n", width, line);
            abort();
        }
        lines++;
        p = nl + 1;
    }
    if (height > 0 && lines > height) {
        fprintf(stderr, "fuzz: %d lines for a height of %d\n", lines, height);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    int width = data[0] ? 10 + data[0] : 0, height = data[1] ? 1 + data[1] % 64 : 0;
    size_t n = size - 2;
    char *buf = malloc(n + 1);
    memcpy(buf, data + 2, n);
    sl__http_response resp;
    char err[256] = "";
    memset(&resp, 0, sizeof resp);
    if (sl__http_response_parse(buf, n, &resp, err, sizeof err) < 0) {
        if (!err[0]) {
            fprintf(stderr, "fuzz: a refused response without a message\n");
            abort();
        }
        free(buf);
        return 0;
    }
    if (resp.body < buf || resp.body + resp.body_len > buf + n || resp.body[resp.body_len]) {
        fprintf(stderr, "fuzz: the body is not within the response\n");
        abort();
    }
    const sl_host *host = sl_host_api();
    sl_mem *mem = host->mem_new();
    sl_value v;
    sl_error e = {0, ""};
    if (host->json_parse(resp.body, resp.body_len, &v, mem, &e) == 0) {
        sl__top_view view = {.url = "http://127.0.0.1:4195",
                             .interval_ms = 1000,
                             .width = width,
                             .height = height,
                             .utf8 = data[0] & 1,
                             .interactive = data[1] & 1,
                             .problem = data[1] & 2 ? "cannot reach \x1b[2J; retrying" : NULL,
                             .age_ms = 1500};
        sl__top_data d = {&v, &v, &v};
        char *text = sl__top_render(&view, &d);
        if (text)
            check_frame(text, width, height);
        free(text);
    }
    host->mem_free(mem);
    free(buf);
    return 0;
}
