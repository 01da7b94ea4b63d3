/*
 * fuzz_kafka.c — the Kafka source's decoders of outside bytes
 * (connectors/kafka): the offsets of a checkpoint (restore), and the text
 * parameters it parses itself (topics, start offsets, librdkafka
 * properties). Each is taken, or refused with a message; never a crash or
 * a leak. The broker address is a closed port: nothing here connects.
 *
 * Input: a selector byte, then the bytes: 0 the checkpointed offsets
 * (restore), 1 topics, 2 offsets, 3 properties (a string: cut at a NUL).
 *
 * Not covered here: a message's value (JSON: fuzz_json covers the parser),
 * key and headers come from librdkafka's decoding of the wire, which is
 * librdkafka's; fuzzing it through sluice needs librdkafka's mock cluster
 * (docs/fuzzing.md).
 */
#include "component.h"
#include "driver.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    sl_log_set_level(getenv("FUZZ_VERBOSE") ? SL_LOG_DEBUG : SL_LOG_ERROR); /* logs: a flood */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 4096)
        return 0;
    static const char *const names[] = {"topics", "topics", "offsets", "properties"};
    int sel = data[0] % 4;
    char *text = strndup((const char *)data + 1, size - 1);
    const char *kv[] = {"brokers",  "127.0.0.1:1", "topics", "t", "start",
                        "earliest", NULL,          NULL,     NULL};
    if (sel == 1)
        kv[3] = text;
    else if (sel > 1)
        kv[6] = names[sel], kv[7] = text;
    fuzz_comp c;
    int rc = fuzz_comp_open(&c, "kafka", SL_COMPONENT_SOURCE, kv);
    fuzz_check_error(rc, &c.err, "kafka create");
    if (rc == 0 && sel == 0) {
        sl_error err = {0, ""};
        rc = c.fn.source.restore(c.fn.inst, data + 1, size - 1, &err);
        fuzz_check_error(rc, &err, "kafka restore");
    }
    fuzz_comp_close(&c);
    free(text);
    return 0;
}
