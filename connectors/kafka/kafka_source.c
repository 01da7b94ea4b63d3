/*
 * kafka_source.c — `source: kafka`, a DIRECT source (Spark's direct stream).
 *
 * At each batch time poll() fixes, for every assigned partition, the offset
 * range [from, until) of the batch: from is where the previous batch ended,
 * until = min(high watermark, from + max_records_per_partition). It then
 * consumes exactly that range: messages past `until` that librdkafka has
 * already fetched are kept for the next batch; a partition that keeps
 * more than a batch's worth is paused until they are used (librdkafka's own
 * prefetch is bounded by queued.max.messages.kbytes), so the rest of a
 * backlog waits in Kafka, not in memory. A range that does not arrive within
 * fetch_timeout (broker down) is cut where it got to: the rest comes with a
 * later batch, nothing is lost or read twice.
 *
 * Not every offset is a message: a transaction ends with a control record
 * (its commit or abort marker) in each partition it wrote to, and under
 * read_committed an aborted transaction's records are skipped too; the
 * consumer delivers neither. A range is therefore also complete when the
 * consumer has gone past its end (kafka_part.fetched): a message at or past
 * `until`, or a partition EOF event at or past it (enable.partition.eof),
 * which librdkafka emits in order after the records and markers before it.
 *
 * assignment: manual: partitions are assigned by the source itself (every
 * partition of the topics, or of the topics matching `pattern`, re-read
 * every metadata_refresh: new partitions start at their earliest offset);
 * `group` is used for committing offsets only (lag monitoring, start:
 * committed). assignment: group: the source subscribes and the group's
 * members split the partitions (kafka_group_assign / kafka_group_revoke).
 *
 * Offsets: snapshot() writes the next offset of every partition into the
 * checkpoint; restore() makes start() resume there. commit(t) commits the
 * offsets that end batch t to the group; the engine calls it after the
 * checkpoint that covers t is written (or, without checkpoints, after the
 * batch's outputs). librdkafka's own auto commit and offset store are off.
 *
 * Records (parameter `record`): value (the message value as a plain
 * element), pair ((key, value)), or full ((key, [value, topic, partition,
 * offset, timestamp, headers])). The value is the message's bytes, or with
 * value_format: json the parsed JSON; a tombstone is null. docs/kafka.md.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"

enum { KAFKA_START_EARLIEST, KAFKA_START_LATEST, KAFKA_START_COMMITTED };
enum { KAFKA_REC_VALUE, KAFKA_REC_PAIR, KAFKA_REC_FULL };

#define KAFKA_WATERMARK_TIMEOUT_MS 5000
#define KAFKA_KEEP_MIN 1000 /* messages a partition keeps past its range before a pause */

/* One assigned partition. */
typedef struct kafka_part {
    char *topic; /* sl_api->malloc */
    int32_t partition;
    int64_t next;  /* the first offset not yet in a batch */
    int64_t until; /* the end (exclusive) of the batch being polled */
    /* every offset below has come out of the consumer since the partition
     * was (re)assigned or sought: as a message (emitted, or kept in carry)
     * or as a record it never delivers (a control record, an aborted
     * transaction's under read_committed) */
    int64_t fetched;
    int64_t lag;                /* high watermark - next after the last poll */
    rd_kafka_message_t **carry; /* fetched messages past `until`, oldest first */
    size_t chead, ncarry, ccap;
    sl_value topic_v; /* the topic in this batch's memory (record: full) */
    int64_t topic_t;  /* the batch topic_v belongs to */
    sl_gauge *g_lag;  /* lag.<topic>.<partition> */
    int paused;       /* fetching stopped: enough is kept for the next batches */
    /* a transaction committed the output of the records up to here before
     * a restart: they are replayed into state, without output */
    int64_t replay_until;
    int64_t safe; /* where the last safe batch (checkpointed, or its outputs done) ended */
    int revoking; /* the group took it away: released once `safe` reaches `next` */
} kafka_part;

/* An offset to start from: restored from a checkpoint or given in `offsets`. */
typedef struct kafka_pos {
    char *topic;
    int32_t partition;
    int64_t offset;
} kafka_pos;

/* The offsets that end one batch, kept until commit() says it is safe. */
typedef struct kafka_pending {
    int64_t t;
    rd_kafka_topic_partition_list_t *offsets;
} kafka_pending;

typedef struct kafka_source {
    kafka_peer peer;       /* first: librdkafka's callbacks see it */
    rd_kafka_conf_t *conf; /* until start() moves it into rk */
    rd_kafka_t *rk;
    char **topics; /* `topics`, split (sl_api->malloc); NULL with a pattern */
    size_t ntopics;
    regex_t pattern;
    int has_pattern;
    const char *pattern_text, *group; /* params-owned */
    const char *brokers;              /* params-owned: for the source's state */
    int start, shape, json, skip_poison;
    int group_mode;                   /* assignment: group (subscribe; partitions come and go) */
    rd_kafka_queue_t *cq;             /* the consumer queue, read in bursts (assignment: manual) */
    int64_t pend_records, pend_bytes; /* emitted this poll, added to the counters at its end */
    size_t last_part;                 /* the partition kafka_find_part found last */
    int64_t max_records, fetch_timeout, connect_timeout, refresh_every, last_refresh;
    kafka_part *parts;
    size_t nparts;
    kafka_pos *restored, *explicit_pos; /* start positions */
    size_t nrestored, nexplicit;
    /* where released partitions' reading got to (assignment: group): one
     * given back starts there, its records since being in this state */
    kafka_pos *released;
    size_t nreleased;
    kafka_pending *pending;
    size_t npending;
    int outage;         /* the brokers did not answer the last watermark query */
    uint64_t ctx;       /* the pipeline (host->context_id) */
    int txn;            /* the pipeline has a transactional Kafka sink (set at start) */
    int64_t polled_t;   /* the last batch polled */
    int64_t replay_t;   /* the last batch that replayed without output */
    uint32_t emit_part; /* the batch partition being emitted to (UINT32_MAX: none yet) */
    int64_t lag;        /* the partitions' lags summed: the gauge g_lag */
    int64_t poll_t;     /* the batch being polled (the rebalance callback runs in its poll) */
    int64_t revoke_t;   /* revoking partitions are released once batch revoke_t is safe */
    int64_t revoke_since, revoke_timeout; /* ms: when the group revoked them; how long they wait */
    size_t nrevoking;                     /* partitions revoked, not released yet */
    int closing;                          /* in rd_kafka_consumer_close: release at once */
    sl_gauge *g_lag; /* "lag" (ABI 1.6: a gauge; before, a counter the engine named one) */
    sl_counter *c_records, *c_bytes, *c_lost, *c_timeouts, *c_poison, *c_commit_fail, *c_errors,
        *c_pauses, *c_replayed, *c_revoke_timeouts;
} kafka_source;

static void kafka_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e,
                               rd_kafka_topic_partition_list_t *l, void *opaque);
static void kafka_pause(kafka_source *s, kafka_part *p, int pause);
static void kafka_release(kafka_source *s);
static void kafka_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e,
                            rd_kafka_topic_partition_list_t *offsets, void *opaque);

static const sl_param_spec kafka_source_params[] = {
    {"brokers", SL_PARAM_STRING, NULL, 1, "bootstrap brokers: host:port[,host:port...]", NULL,
     NULL},
    {"topics", SL_PARAM_STRING, NULL, 0, "topics to read: a list, or comma-separated (or: pattern)",
     NULL, NULL},
    {"pattern", SL_PARAM_STRING, NULL, 0,
     "POSIX extended regular expression: every topic whose name matches (or: topics)", NULL, NULL},
    {"group", SL_PARAM_STRING, NULL, 0,
     "consumer group the offsets are committed to (after checkpoints); none: no commits", NULL,
     NULL},
    {"start", SL_PARAM_ENUM, "latest", 0,
     "where a partition starts without a checkpoint or an explicit offset",
     "earliest|latest|committed", NULL},
    {"assignment", SL_PARAM_ENUM, "manual", 0,
     "manual: this process reads every partition; group: the group's processes split them",
     "manual|group", NULL},
    {"offsets", SL_PARAM_STRING, NULL, 0,
     "explicit start offsets: topic:partition:offset[,...] (a checkpoint still wins)", NULL, NULL},
    {"max_records_per_partition", SL_PARAM_INT, "100000", 0,
     "most records a partition contributes to one batch (backpressure; 0: no limit)", NULL, "0.."},
    {"record", SL_PARAM_ENUM, "value", 0,
     "what a record is: the value, (key, value), or (key, [value, topic, partition, offset, "
     "timestamp, headers])",
     "value|pair|full", NULL},
    {"value_format", SL_PARAM_ENUM, "bytes", 0, "the value as bytes, or parsed as JSON",
     "bytes|json", NULL},
    {"on_error", SL_PARAM_ENUM, "fail", 0,
     "a value that is not JSON (value_format: json): fail the batch, or skip and count it",
     "fail|skip", NULL},
    {"fetch_timeout", SL_PARAM_DURATION, "10s", 0,
     "longest wait for a batch's offset range; the rest comes with a later batch", NULL, "1ms.."},
    {"connect_timeout", SL_PARAM_DURATION, "10s", 0,
     "at start: how long the brokers may take to answer before the source fails", NULL, "1ms.."},
    {"revoke_timeout", SL_PARAM_DURATION, "30s", 0,
     "assignment: group: how long revoked partitions wait for the batch holding their last "
     "records to be checkpointed before they are released anyway (read again by the next owner)",
     NULL, "1ms.."},
    {"metadata_refresh", SL_PARAM_DURATION, "30s", 0,
     "how often new partitions and topics (pattern) are looked for", NULL, "1s.."},
    {"properties", SL_PARAM_STRING, NULL, 0,
     "librdkafka properties: a mapping, or name=value lines (some are refused: docs/kafka.md)",
     NULL, NULL},
    {NULL, 0, NULL, 0, NULL, NULL, NULL}};

/* A malloc'd copy of s[0..n) (NULL without memory). */
static char *kafka_strndup(const char *s, size_t n) {
    char *c = sl_api->malloc(n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = 0;
    }
    return c;
}

/* Split the comma-separated `topics` into s->topics (spaces trimmed). */
static int kafka_parse_topics(kafka_source *s, const char *text, sl_error *err) {
    for (const char *p = text; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *end = e;
        while (end > p && end[-1] == ' ')
            end--;
        if (end > p) {
            char **t = sl_api->realloc(s->topics, (s->ntopics + 1) * sizeof *t);
            if (!t || !(t[s->ntopics] = kafka_strndup(p, (size_t)(end - p))))
                return sl_api->error_set(err, SL_ENOMEM, "kafka source: out of memory");
            s->topics = t;
            s->ntopics++;
        }
        p = e;
    }
    if (!s->ntopics)
        return sl_api->error_set(err, SL_ECONFIG, "kafka source: topics: no topic name in '%s'",
                                 text);
    return 0;
}

/* Add (topic, partition, offset) to a position list. */
static int kafka_pos_add(kafka_pos **list, size_t *n, const char *topic, size_t tlen,
                         int32_t partition, int64_t offset) {
    kafka_pos *l = sl_api->realloc(*list, (*n + 1) * sizeof *l);
    if (!l)
        return SL_ENOMEM;
    *list = l;
    l[*n].topic = kafka_strndup(topic, tlen);
    if (!l[*n].topic)
        return SL_ENOMEM;
    l[*n].partition = partition;
    l[*n].offset = offset;
    (*n)++;
    return 0;
}

static void kafka_pos_free(kafka_pos *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        sl_api->free(list[i].topic);
    sl_api->free(list);
}

/* Parse `offsets`: topic:partition:offset[,...]. The topic is what precedes
 * the last two colons, so topic names may contain ':' (they cannot in
 * Kafka, but the error stays clear). */
static int kafka_parse_offsets(kafka_source *s, const char *text, sl_error *err) {
    for (const char *p = text; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = strchr(p, ',');
        if (!e)
            e = p + strlen(p);
        if (e == p)
            break;
        const char *c1 = NULL, *c2 = NULL; /* the last two ':' */
        for (const char *q = e; q > p && !c1; q--)
            if (q[-1] == ':')
                *(c2 ? &c1 : &c2) = q - 1;
        char *end1 = NULL, *end2 = NULL;
        long part = c1 && c1 > p ? strtol(c1 + 1, &end1, 10) : -1;
        long long off = c1 && c1 > p ? strtoll(c2 + 1, &end2, 10) : -1;
        while (end2 && end2 < e && *end2 == ' ')
            end2++;
        if (part < 0 || off < 0 || end1 != c2 || end1 == c1 + 1 || end2 != e || end2 == c2 + 1)
            return sl_api->error_set(err, SL_ECONFIG,
                                     "kafka source: offsets: '%.*s' is not topic:partition:offset "
                                     "(e.g. lines:0:42)",
                                     (int)(e - p), p);
        if (kafka_pos_add(&s->explicit_pos, &s->nexplicit, p, (size_t)(c1 - p), (int32_t)part,
                          off) < 0)
            return sl_api->error_set(err, SL_ENOMEM, "kafka source: out of memory");
        p = e;
    }
    return 0;
}

/* Set what the source decides; the user's properties may not change the
 * guarantees (enable.auto.commit and friends are refused earlier). */
static int kafka_source_defaults(kafka_source *s, const sl_params *params, sl_error *err) {
    static const char *const fixed[][2] = {
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"}, /* kafka_reached: ranges ending in markers */
        {"auto.offset.reset", "earliest"},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] && !rc; i++)
        rc = kafka_conf_set(s->conf, "kafka source", fixed[i][0], fixed[i][1], err);
    /* librdkafka's consumer needs a group.id even to assign partitions;
     * without `group` nothing is committed to it and it is never joined */
    if (!rc)
        rc = kafka_conf_set(s->conf, "kafka source", "group.id",
                            s->group ? s->group : "sluice-uncommitted", err);
    if (!rc && !kafka_conf_user_set(params, "queued.max.messages.kbytes"))
        rc = kafka_conf_set(s->conf, "kafka source", "queued.max.messages.kbytes", "16384", err);
    if (!rc && !kafka_conf_user_set(params, "fetch.wait.max.ms"))
        rc = kafka_conf_set(s->conf, "kafka source", "fetch.wait.max.ms", "100", err);
    if (!rc && !kafka_conf_user_set(params, "allow.auto.create.topics"))
        rc = kafka_conf_set(s->conf, "kafka source", "allow.auto.create.topics", "false", err);
    return rc;
}

/* Read the parameters that are not librdkafka's. */
static int kafka_source_params_read(kafka_source *s, const sl_params *params, sl_error *err) {
    const char *topics = sl_api->param_str(params, "topics");
    const char *start = sl_api->param_str(params, "start");
    const char *shape = sl_api->param_str(params, "record");
    const char *offsets = sl_api->param_str(params, "offsets");
    s->pattern_text = sl_api->param_str(params, "pattern");
    s->brokers = sl_api->param_str(params, "brokers");
    s->group = sl_api->param_str(params, "group");
    if (s->group && !*s->group)
        s->group = NULL;
    if ((topics != NULL) == (s->pattern_text != NULL))
        return sl_api->error_set(err, SL_ECONFIG,
                                 "kafka source: give either topics (a list) or pattern (a regular "
                                 "expression), not %s",
                                 topics ? "both" : "neither");
    s->start = strcmp(start, "earliest") == 0 ? KAFKA_START_EARLIEST
               : strcmp(start, "latest") == 0 ? KAFKA_START_LATEST
                                              : KAFKA_START_COMMITTED;
    if (s->start == KAFKA_START_COMMITTED && !s->group)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "kafka source: start: committed needs a group (whose committed "
                                 "offsets to start from)");
    s->shape = strcmp(shape, "value") == 0  ? KAFKA_REC_VALUE
               : strcmp(shape, "pair") == 0 ? KAFKA_REC_PAIR
                                            : KAFKA_REC_FULL;
    s->group_mode = strcmp(sl_api->param_str(params, "assignment"), "group") == 0;
    if (s->group_mode && !s->group)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "kafka source: assignment: group needs a group (whose members "
                                 "split the partitions)");
    s->json = strcmp(sl_api->param_str(params, "value_format"), "json") == 0;
    s->skip_poison = strcmp(sl_api->param_str(params, "on_error"), "skip") == 0;
    s->max_records = sl_api->param_int(params, "max_records_per_partition");
    s->fetch_timeout = sl_api->param_int(params, "fetch_timeout");
    s->connect_timeout = sl_api->param_int(params, "connect_timeout");
    s->refresh_every = sl_api->param_int(params, "metadata_refresh");
    s->revoke_timeout = sl_api->param_int(params, "revoke_timeout");
    if (s->max_records < 0)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "kafka source: max_records_per_partition must be >= 0 (0: no "
                                 "limit), got %lld",
                                 (long long)s->max_records);
    if (topics) {
        int rc = kafka_parse_topics(s, topics, err);
        if (rc)
            return rc;
    } else {
        int rc = regcomp(&s->pattern, s->pattern_text, REG_EXTENDED | REG_NOSUB);
        if (rc) {
            char why[128];
            regerror(rc, &s->pattern, why, sizeof why);
            return sl_api->error_set(err, SL_ECONFIG, "kafka source: pattern '%s': %s",
                                     s->pattern_text, why);
        }
        s->has_pattern = 1;
    }
    return offsets ? kafka_parse_offsets(s, offsets, err) : 0;
}

static void kafka_part_drop_carry(kafka_part *p) {
    for (size_t i = p->chead; i < p->ncarry; i++)
        rd_kafka_message_destroy(p->carry[i]);
    p->chead = p->ncarry = 0;
}

/* Partition p is assigned again at its next offset: what was kept goes (it
 * is fetched again from there), and it is fetched whether paused or not
 * (kafka_unpause, before the assign, clears librdkafka's pause). */
static void kafka_part_refetch(kafka_part *p) {
    kafka_part_drop_carry(p);
    p->paused = 0;
    p->fetched = p->next;
}

/* Clear librdkafka's pause of the partitions about to be assigned. A pause
 * is the application's (rd_kafka_pause_partitions) and outlives both an
 * unassign and a new assign: librdkafka resets only its own pause then. A
 * partition paused before it was released (a revoke pauses it; so does a
 * full carry) and assigned to this member again, or paused when the
 * assignment is replaced, would otherwise never be fetched again: each batch
 * would wait fetch_timeout for offsets that do not come. Called before
 * rd_kafka_assign, so that the resume is queued to the partition ahead of
 * the assignment's fetch start and is not dropped as outdated (librdkafka
 * #2190); a partition librdkafka has not seen has nothing to clear. */
static void kafka_unpause(kafka_source *s, const rd_kafka_topic_partition_list_t *l) {
    rd_kafka_topic_partition_list_t *c = rd_kafka_topic_partition_list_copy(l);
    rd_kafka_resume_partitions(s->rk, c);
    rd_kafka_topic_partition_list_destroy(c);
}

static void kafka_source_destroy(void *instance) {
    kafka_source *s = instance;
    if (!s)
        return;
    kafka_reg_remove(s);
    if (s->cq) /* a queue reference is released before its consumer closes */
        rd_kafka_queue_destroy(s->cq);
    s->closing = 1;
    /* partitions still waiting for their batch: librdkafka waits for the
     * unassign and would not call the rebalance callback again on close */
    if (s->rk && s->nrevoking)
        kafka_release(s);
    if (s->rk) /* first: with assignment: group it calls kafka_group_revoke */
        rd_kafka_consumer_close(s->rk);
    for (size_t i = 0; i < s->nparts; i++) {
        kafka_part_drop_carry(&s->parts[i]);
        sl_api->free(s->parts[i].carry);
        sl_api->free(s->parts[i].topic);
    }
    sl_api->free(s->parts);
    for (size_t i = 0; i < s->npending; i++)
        rd_kafka_topic_partition_list_destroy(s->pending[i].offsets);
    sl_api->free(s->pending);
    if (s->rk) /* after the kept messages are destroyed, as librdkafka requires */
        rd_kafka_destroy(s->rk);
    if (s->conf)
        rd_kafka_conf_destroy(s->conf);
    for (size_t i = 0; i < s->ntopics; i++)
        sl_api->free(s->topics[i]);
    sl_api->free(s->topics);
    if (s->has_pattern)
        regfree(&s->pattern);
    kafka_pos_free(s->restored, s->nrestored);
    kafka_pos_free(s->released, s->nreleased);
    kafka_pos_free(s->explicit_pos, s->nexplicit);
    pthread_mutex_destroy(&s->peer.box.lock);
    sl_api->free(s);
}

/* The result of a commit() (served by rd_kafka_consumer_poll). */
static void kafka_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e,
                            rd_kafka_topic_partition_list_t *offsets, void *opaque) {
    (void)rk;
    (void)offsets;
    kafka_source *s = opaque;
    if (!e || e == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return;
    sl_api->counter_add(s->c_commit_fail, 1);
    sl_api->log(s->peer.h, SL_LOG_WARN,
                "kafka source: committing offsets to group '%s' failed: %s (the checkpoint "
                "holds them; only the group's lag figure lags)",
                s->group, rd_kafka_err2str(e));
}

/* assignment: group releases revoked partitions at a batch boundary, which
 * the eager protocol allows (the rebalance waits for the unassign); the
 * cooperative one would need incremental (un)assigns: refused for now. */
static int kafka_eager_only(kafka_source *s, sl_error *err) {
    char v[256];
    size_t n = sizeof v;
    if (rd_kafka_conf_get(s->conf, "partition.assignment.strategy", v, &n) != RD_KAFKA_CONF_OK ||
        !strstr(v, "cooperative"))
        return 0;
    return sl_api->error_set(err, SL_ECONFIG,
                             "kafka source: partition.assignment.strategy '%s': the cooperative "
                             "protocol is not supported with assignment: group (use range or "
                             "roundrobin: revoked partitions are released at a batch boundary)",
                             v);
}

static int kafka_source_create(sl_handle *h, const sl_params *params, void **instance,
                               sl_error *err) {
    kafka_source *s = sl_api->calloc(1, sizeof *s);
    if (!s)
        return sl_api->error_set(err, SL_ENOMEM, "kafka source: out of memory");
    pthread_mutex_init(&s->peer.box.lock, NULL);
    s->peer.h = h;
    int rc = kafka_source_params_read(s, params, err);
    if (!rc)
        rc = kafka_conf_build(params, "kafka source", &s->conf, err);
    if (!rc)
        rc = kafka_source_defaults(s, params, err);
    if (!rc && s->group_mode)
        rc = kafka_eager_only(s, err);
    if (rc) {
        kafka_source_destroy(s);
        return rc;
    }
    kafka_conf_callbacks(s->conf, &s->peer);
    rd_kafka_conf_set_offset_commit_cb(s->conf, kafka_commit_cb);
    if (s->group_mode)
        rd_kafka_conf_set_rebalance_cb(s->conf, kafka_rebalance_cb);
    s->c_records = sl_api->counter(h, "records");
    s->c_bytes = sl_api->counter(h, "bytes");
    s->g_lag = sl_api->gauge(h, "lag");
    s->c_lost = sl_api->counter(h, "offsets_lost");
    s->c_timeouts = sl_api->counter(h, "fetch_timeouts");
    s->c_poison = sl_api->counter(h, "poison_skipped");
    s->c_commit_fail = sl_api->counter(h, "commit_failures");
    s->c_errors = sl_api->counter(h, "fetch_errors");
    s->c_pauses = sl_api->counter(h, "pauses");
    s->c_replayed = sl_api->counter(h, "replayed_without_output");
    s->c_revoke_timeouts = sl_api->counter(h, "revoke_timeouts");
    s->ctx = sl_api->context_id(h);
    s->polled_t = s->replay_t = INT64_MIN;
    if (kafka_reg_add(s->ctx, KAFKA_REG_SOURCE, s) < 0) {
        kafka_source_destroy(s);
        return sl_api->error_set(err, SL_ENOMEM, "kafka source: out of memory");
    }
    *instance = s;
    return 0;
}

/* ---- partitions ----------------------------------------------------------------- */

/* Nonzero if the source reads `topic`. */
static int kafka_wants_topic(const kafka_source *s, const char *topic) {
    if (s->has_pattern)
        return topic[0] != '_' && regexec(&s->pattern, topic, 0, NULL, 0) == 0;
    for (size_t i = 0; i < s->ntopics; i++)
        if (strcmp(s->topics[i], topic) == 0)
            return 1;
    return 0;
}

/* The assigned partition (topic, partition), or NULL. */
/* Partition p's lag is now `lag`: its gauge and the source's total. Called
 * from the polling thread only (the rebalance callback runs in its poll). */
static void kafka_lag_set(kafka_source *s, kafka_part *p, int64_t lag) {
    s->lag += lag - p->lag;
    p->lag = lag;
    sl_api->gauge_set(p->g_lag, lag);
    sl_api->gauge_set(s->g_lag, s->lag);
}

static kafka_part *kafka_find_part(kafka_source *s, const char *topic, int32_t partition) {
    /* messages come in runs of one partition: try the last one found first */
    if (s->last_part < s->nparts && s->parts[s->last_part].partition == partition &&
        strcmp(s->parts[s->last_part].topic, topic) == 0)
        return &s->parts[s->last_part];
    for (size_t i = 0; i < s->nparts; i++)
        if (s->parts[i].partition == partition && strcmp(s->parts[i].topic, topic) == 0) {
            s->last_part = i;
            return &s->parts[i];
        }
    return NULL;
}

/* Nonzero if the cluster's metadata lists `topic` without an error. */
static int kafka_md_has_topic(const struct rd_kafka_metadata *md, const char *topic) {
    for (int i = 0; i < md->topic_cnt; i++)
        if (!md->topics[i].err && strcmp(md->topics[i].topic, topic) == 0)
            return 1;
    return 0;
}

/* The offset in a position list for (topic, partition), or -1. */
static int64_t kafka_pos_find(const kafka_pos *l, size_t n, const char *topic, int32_t partition) {
    for (size_t i = 0; i < n; i++)
        if (l[i].partition == partition && strcmp(l[i].topic, topic) == 0)
            return l[i].offset;
    return -1;
}

/* Why the brokers did not answer: librdkafka's code and its last error event. */
static void kafka_why(kafka_source *s, rd_kafka_resp_err_t e, char *buf, size_t cap) {
    char last[256];
    kafka_peer_error(&s->peer, last, sizeof last);
    snprintf(buf, cap, "%s%s%s", rd_kafka_err2str(e), last[0] ? "; last error: " : "", last);
}

/* Where a partition new to this run starts: the checkpoint, else `offsets`,
 * else `start` (committed falls back to earliest). A partition appearing
 * while running (`running`) starts at its earliest offset. */
static int kafka_start_offset(kafka_source *s, const char *topic, int32_t partition, int running,
                              int64_t *out, sl_error *err) {
    int64_t o = kafka_pos_find(s->restored, s->nrestored, topic, partition);
    if (o < 0)
        o = kafka_pos_find(s->explicit_pos, s->nexplicit, topic, partition);
    if (o < 0 && !running && s->start == KAFKA_START_COMMITTED) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, topic, partition);
        rd_kafka_resp_err_t e = rd_kafka_committed(s->rk, l, (int)s->connect_timeout);
        if (e) {
            rd_kafka_topic_partition_list_destroy(l);
            return sl_api->error_set(err, SL_EIO,
                                     "kafka source: reading group '%s''s committed offset of "
                                     "%s/%d: %s",
                                     s->group, topic, (int)partition, rd_kafka_err2str(e));
        }
        o = l->elems[0].offset >= 0 ? l->elems[0].offset : -1;
        rd_kafka_topic_partition_list_destroy(l);
    }
    if (o >= 0) {
        *out = o;
        return 0;
    }
    int64_t low, high;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(s->rk, topic, partition, &low, &high,
                                                             (int)s->connect_timeout);
    if (e) {
        char why[512];
        kafka_why(s, e, why, sizeof why);
        return sl_api->error_set(
            err, SL_EIO, "kafka source: cannot read the offsets of %s/%d within %lld ms: %s", topic,
            (int)partition, (long long)s->connect_timeout, why);
    }
    *out = s->start == KAFKA_START_LATEST && !running ? high : low;
    return 0;
}

/* Add a partition starting at `offset` to s->parts and to `assign`. */
static int kafka_add_part(kafka_source *s, const char *topic, int32_t partition, int64_t offset,
                          rd_kafka_topic_partition_list_t *assign, sl_error *err) {
    kafka_part *np = sl_api->realloc(s->parts, (s->nparts + 1) * sizeof *np);
    if (!np)
        return sl_api->error_set(err, SL_ENOMEM, "kafka source: out of memory");
    s->parts = np;
    kafka_part *p = &np[s->nparts];
    memset(p, 0, sizeof *p);
    if (!(p->topic = kafka_strndup(topic, strlen(topic))))
        return sl_api->error_set(err, SL_ENOMEM, "kafka source: out of memory");
    s->nparts++;
    p->partition = partition;
    p->next = p->until = p->fetched = p->safe = offset;
    char name[200];
    snprintf(name, sizeof name, "lag.%s.%d", topic, (int)partition);
    p->g_lag = sl_api->gauge(s->peer.h, name);
    rd_kafka_topic_partition_list_add(assign, topic, partition)->offset = offset;
    sl_api->log(s->peer.h, SL_LOG_INFO, "kafka source: %s/%d starts at offset %lld", topic,
                (int)partition, (long long)offset);
    return 0;
}

/* Report the source's state (host->source_state): ASSIGNED with how many
 * partitions it reads, or CONNECTING with `what` (waiting for the group, or
 * for a topic to match the pattern). The detail starts with the brokers. */
static void kafka_state(kafka_source *s, int assigned, const char *what) {
    char detail[512];
    if (assigned)
        snprintf(detail, sizeof detail, "%.200s: %zu partition%s%s%.200s%s", s->brokers, s->nparts,
                 s->nparts == 1 ? "" : "s", s->group ? " (group " : "", s->group ? s->group : "",
                 s->group ? ")" : "");
    else
        snprintf(detail, sizeof detail, "%.200s: %.300s", s->brokers, what);
    sl_api->source_state(s->peer.h, assigned ? SL_SOURCE_ASSIGNED : SL_SOURCE_CONNECTING, detail);
}

/* Assign every partition at its next offset. rd_kafka_assign replaces the
 * whole assignment (incremental_assign needs a group.id, and `group` is
 * optional): what librdkafka had prefetched is fetched again, so the kept
 * messages go. Only called when partitions were added. */
static int kafka_assign_all(kafka_source *s, sl_error *err) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)s->nparts);
    for (size_t i = 0; i < s->nparts; i++) {
        kafka_part_refetch(&s->parts[i]);
        rd_kafka_topic_partition_list_add(l, s->parts[i].topic, s->parts[i].partition)->offset =
            s->parts[i].next;
    }
    kafka_unpause(s, l);
    rd_kafka_resp_err_t e = rd_kafka_assign(s->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        return sl_api->error_set(err, SL_EIO, "kafka source: assigning partitions: %s",
                                 rd_kafka_err2str(e));
    kafka_state(s, 1, NULL);
    return 0;
}

/* Read the cluster's topics and assign the partitions not yet assigned.
 * At start (`running` 0) a listed topic that does not exist is an error. */
static int kafka_refresh(kafka_source *s, int running, sl_error *err) {
    const struct rd_kafka_metadata *md = NULL;
    int64_t wait = running ? KAFKA_WATERMARK_TIMEOUT_MS : s->connect_timeout;
    rd_kafka_resp_err_t e = rd_kafka_metadata(s->rk, 1, NULL, &md, (int)wait);
    s->last_refresh = sl_api->now_ms();
    if (e) {
        char why[512];
        if (!running) { /* serve the error events (SSL, SASL) queued meanwhile: kafka_why's */
            rd_kafka_message_t *m;
            while ((m = rd_kafka_consumer_poll(s->rk, 0)))
                rd_kafka_message_destroy(m);
        }
        kafka_why(s, e, why, sizeof why);
        if (running) { /* keep the partitions we have; try again later */
            sl_api->log(s->peer.h, SL_LOG_WARN, "kafka source: metadata refresh failed: %s", why);
            return 0;
        }
        return sl_api->error_set(err, SL_EIO,
                                 "kafka source: the brokers did not answer within %lld ms: %s",
                                 (long long)s->connect_timeout, why);
    }
    rd_kafka_topic_partition_list_t *assign = rd_kafka_topic_partition_list_new(8);
    int rc = 0;
    for (int i = 0; i < md->topic_cnt && !rc; i++) {
        const rd_kafka_metadata_topic_t *t = &md->topics[i];
        if (t->err || !kafka_wants_topic(s, t->topic) || s->group_mode)
            continue;
        for (int j = 0; j < t->partition_cnt && !rc; j++) {
            int32_t pid = t->partitions[j].id;
            int64_t off = 0;
            if (kafka_find_part(s, t->topic, pid))
                continue;
            rc = kafka_start_offset(s, t->topic, pid, running, &off, err);
            if (!rc)
                rc = kafka_add_part(s, t->topic, pid, off, assign, err);
        }
    }
    for (size_t i = 0; i < s->ntopics && !rc && !running; i++)
        if (!kafka_md_has_topic(md, s->topics[i]))
            rc = sl_api->error_set(err, SL_ENOTFOUND,
                                   "kafka source: topic '%s' does not exist on the brokers (%d "
                                   "topics there); create it first",
                                   s->topics[i], md->topic_cnt);
    rd_kafka_metadata_destroy(md);
    if (!rc && assign->cnt)
        rc = kafka_assign_all(s, err);
    rd_kafka_topic_partition_list_destroy(assign);
    return rc;
}

/* ---- assignment: group (scale-out) -------------------------------------------- */

/* Forget partition p (it belongs to another member now). */
static void kafka_forget_part(kafka_source *s, kafka_part *p) {
    kafka_lag_set(s, p, 0);
    kafka_part_drop_carry(p);
    sl_api->free(p->carry);
    sl_api->free(p->topic);
    size_t idx = (size_t)(p - s->parts);
    memmove(p, p + 1, (s->nparts - idx - 1) * sizeof *p);
    s->nparts--;
    s->last_part = SIZE_MAX;
    s->emit_part = UINT32_MAX; /* batch partitions are indexes into parts */
}

/* Where partition (topic, partition) was released at `next`. */
static void kafka_released_set(kafka_source *s, const char *topic, int32_t partition,
                               int64_t next) {
    for (size_t i = 0; i < s->nreleased; i++)
        if (s->released[i].partition == partition && strcmp(s->released[i].topic, topic) == 0) {
            s->released[i].offset = next;
            return;
        }
    (void)kafka_pos_add(&s->released, &s->nreleased, topic, strlen(topic), partition, next);
}

/* Give the revoked partitions back to the group: commit where the last safe
 * batch ended in each (the next owner starts there; with a transactional
 * sink the transactions committed it already), forget them and end the
 * assignment, which lets the rebalance go on. The commit is asynchronous:
 * librdkafka finishes an unassign, and so rejoins the group, only once the
 * commits sent before it are done (rdkafka_assignment.c counts
 * rkcg_wait_commit_cnt), and the engine thread never waits on a
 * coordinator that does not answer. Its result comes to kafka_commit_cb. */
static void kafka_release(kafka_source *s) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)s->nparts);
    for (size_t i = 0; i < s->nparts; i++)
        if (s->parts[i].revoking)
            rd_kafka_topic_partition_list_add(l, s->parts[i].topic, s->parts[i].partition)->offset =
                s->parts[i].safe;
    if (l->cnt && !s->txn) {
        rd_kafka_resp_err_t e = rd_kafka_commit(s->rk, l, 1);
        if (e) /* not sent: no callback comes */
            kafka_commit_cb(s->rk, e, l, s);
    }
    rd_kafka_topic_partition_list_destroy(l);
    for (size_t i = s->nparts; i-- > 0;) {
        kafka_part *p = &s->parts[i];
        if (!p->revoking)
            continue;
        kafka_released_set(s, p->topic, p->partition, p->next);
        sl_api->log(s->peer.h, SL_LOG_INFO, "kafka source: %s/%d released at offset %lld", p->topic,
                    (int)p->partition, (long long)p->safe);
        kafka_forget_part(s, p);
    }
    s->nrevoking = 0;
    rd_kafka_assign(s->rk, NULL);
    char what[300];
    snprintf(what, sizeof what, "rebalancing group %s", s->group);
    kafka_state(s, 0, what);
}

/* A new assignment came while partitions wait to be released (librdkafka
 * rejoins without waiting when the subscribed topics change): the ones
 * assigned again stay, read again from their next offset; the others go
 * now, their offsets not committed past the last safe batch (the next owner
 * may read again what this member read since: never less). */
static void kafka_revoke_superseded(kafka_source *s, const rd_kafka_topic_partition_list_t *l) {
    for (size_t i = s->nparts; i-- > 0;) {
        kafka_part *p = &s->parts[i];
        if (!p->revoking)
            continue;
        if (rd_kafka_topic_partition_list_find(l, p->topic, p->partition)) {
            p->revoking = 0;
            kafka_part_refetch(p);
            continue;
        }
        sl_api->log(s->peer.h, SL_LOG_WARN,
                    "kafka source: %s/%d: a new assignment came before its revocation was "
                    "done; released at offset %lld (the last safe batch's end): offsets "
                    "%lld..%lld may be read again by its next owner",
                    p->topic, (int)p->partition, (long long)p->safe, (long long)p->safe,
                    (long long)p->next - 1);
        kafka_forget_part(s, p);
    }
    s->nrevoking = 0;
}

/* Partitions assigned to this member: each starts at the later of its
 * checkpointed offset and the group's committed one (another member may
 * have gone further), else at `offsets`/`start`. Runs inside
 * rd_kafka_consumer_poll, on the engine thread. */
static void kafka_group_assign(kafka_source *s, rd_kafka_topic_partition_list_t *l) {
    sl_error err = {0, ""};
    if (s->nrevoking)
        kafka_revoke_superseded(s, l);
    rd_kafka_resp_err_t e = rd_kafka_committed(s->rk, l, (int)s->connect_timeout);
    for (int i = 0; i < l->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &l->elems[i];
        int64_t committed = e ? -1 : tp->offset, off = 0;
        if (kafka_find_part(s, tp->topic, tp->partition))
            continue;
        int rc = kafka_start_offset(s, tp->topic, tp->partition, 0, &off, &err);
        if (kafka_pos_find(s->restored, s->nrestored, tp->topic, tp->partition) < 0 &&
            committed >= 0)
            off = committed; /* the group knows better than `start` */
        else if (committed > off)
            off = committed;
        /* given back after a release past its safe offset (revoke_timeout):
         * this state holds the records up to where reading got, unless
         * another member went further since */
        int64_t safe = off,
                back = kafka_pos_find(s->released, s->nreleased, tp->topic, tp->partition);
        if (back > off)
            off = back;
        rd_kafka_topic_partition_list_t *dummy = rd_kafka_topic_partition_list_new(1);
        if (!rc)
            rc = kafka_add_part(s, tp->topic, tp->partition, off, dummy, &err);
        rd_kafka_topic_partition_list_destroy(dummy);
        if (rc)
            sl_api->log(s->peer.h, SL_LOG_ERROR, "%s", err.msg);
        else /* records between are in this state, not yet in a safe batch */
            s->parts[s->nparts - 1].safe = safe;
    }
    for (int i = 0; i < l->cnt; i++) {
        kafka_part *p = kafka_find_part(s, l->elems[i].topic, l->elems[i].partition);
        l->elems[i].offset = p ? p->next : RD_KAFKA_OFFSET_INVALID;
    }
    kafka_unpause(s, l);
    rd_kafka_assign(s->rk, l);
    kafka_state(s, 1, NULL); /* possibly 0 partitions: more members than partitions */
}

/* Partitions taken away. Their records up to `next` are in batches up to
 * the one being polled, which may not be safe yet: committing `next` now
 * would let the next owner start past records that a crash before the
 * checkpoint takes out of this member's state. So a revoked partition
 * stops (its range cut, its fetch paused) and keeps its assignment until
 * the batch being polled is safe: kafka_source_commit releases it then, at
 * a batch boundary, or kafka_source_poll after revoke_timeout (at the last
 * safe offset: read again, never lost). The group's rebalance waits
 * meanwhile (up to max.poll.interval.ms). A partition with nothing unsafe
 * goes at once, as everything does when the consumer closes. */
static void kafka_group_revoke(kafka_source *s, rd_kafka_topic_partition_list_t *l) {
    int wait = 0;
    for (int i = 0; i < l->cnt; i++) {
        kafka_part *p = kafka_find_part(s, l->elems[i].topic, l->elems[i].partition);
        if (!p || p->revoking)
            continue;
        p->revoking = 1;
        s->nrevoking++;
        p->until = p->next; /* the rest of its range is the next owner's */
        if (p->next > p->safe && !s->closing) {
            wait = 1;
            if (!p->paused)
                kafka_pause(s, p, 1);
        }
    }
    if (!wait) {
        kafka_release(s); /* also when none was ours: the rebalance needs the answer */
        return;
    }
    s->revoke_t = s->poll_t;
    s->revoke_since = sl_api->now_ms();
    char what[300];
    snprintf(what, sizeof what, "rebalancing group %s: releasing %zu partitions", s->group,
             s->nrevoking);
    kafka_state(s, 0, what);
    sl_api->log(s->peer.h, SL_LOG_INFO,
                "kafka source: %zu partitions revoked by group %s: released once the batch "
                "holding their last records is safe (at most revoke_timeout, %lld ms)",
                s->nrevoking, s->group, (long long)s->revoke_timeout);
}

static void kafka_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e,
                               rd_kafka_topic_partition_list_t *l, void *opaque) {
    (void)rk;
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
        kafka_group_assign(opaque, l);
    else
        kafka_group_revoke(opaque, l);
}

/* Join the group: subscribe to the topics (or the pattern). */
static int kafka_subscribe(kafka_source *s, sl_error *err) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)s->ntopics + 1);
    char pat[1024];
    for (size_t i = 0; i < s->ntopics; i++)
        rd_kafka_topic_partition_list_add(l, s->topics[i], RD_KAFKA_PARTITION_UA);
    if (s->has_pattern) {
        snprintf(pat, sizeof pat, "^%s",
                 s->pattern_text[0] == '^' ? s->pattern_text + 1 : s->pattern_text);
        rd_kafka_topic_partition_list_add(l, pat, RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t e = rd_kafka_subscribe(s->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        return sl_api->error_set(err, SL_EIO, "kafka source: joining group '%s': %s", s->group,
                                 rd_kafka_err2str(e));
    return 0;
}

/* A transactional sink committed, with each batch's output, the offsets
 * that ended the batch to the group. At start the group's offset of a
 * partition may be ahead of where the source starts (the checkpoint's
 * offset, or `start` without one): the records between are in no
 * checkpoint's state but their output is in Kafka. Plan to replay them
 * into state with no output. */
static int kafka_plan_replay(kafka_source *s, sl_error *err) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)s->nparts);
    for (size_t i = 0; i < s->nparts; i++)
        rd_kafka_topic_partition_list_add(l, s->parts[i].topic, s->parts[i].partition);
    rd_kafka_resp_err_t e =
        l->cnt ? rd_kafka_committed(s->rk, l, (int)s->connect_timeout) : RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int i = 0; !e && i < l->cnt; i++) {
        kafka_part *p = kafka_find_part(s, l->elems[i].topic, l->elems[i].partition);
        if (!p || l->elems[i].err || l->elems[i].offset <= p->next)
            continue;
        p->replay_until = l->elems[i].offset;
        sl_api->log(s->peer.h, SL_LOG_INFO,
                    "kafka source: %s/%d: offsets %lld..%lld are replayed into state without "
                    "output: a transaction committed their output before the restart",
                    p->topic, (int)p->partition, (long long)p->next,
                    (long long)p->replay_until - 1);
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        return sl_api->error_set(err, SL_EIO,
                                 "kafka source: reading group '%s''s committed offsets (the "
                                 "transactional sink's progress): %s",
                                 s->group, rd_kafka_err2str(e));
    return 0;
}

/* Create the consumer (the conf moves into it) and assign the partitions. */
static int kafka_source_start(void *instance, sl_error *err) {
    kafka_source *s = instance;
    char errstr[512];
    s->rk = rd_kafka_new(RD_KAFKA_CONSUMER, s->conf, errstr, sizeof errstr);
    if (!s->rk)
        return sl_api->error_set(err, SL_ECONFIG, "kafka source: cannot create a consumer: %s",
                                 errstr);
    s->conf = NULL;
    rd_kafka_poll_set_consumer(s->rk);
    if (!s->group_mode)
        s->cq = rd_kafka_queue_get_consumer(s->rk);
    void *sink = kafka_reg_txn_sink(s->ctx);
    s->txn = sink != NULL;
    if (s->txn && !s->group)
        return sl_api->error_set(err, SL_ECONFIG,
                                 "kafka source: the pipeline's kafka sink is transactional and "
                                 "commits this source's offsets to its group with each batch: "
                                 "set `group`");
    if (s->txn && kafka_sink_txn_fence(sink, err) < 0)
        return err->code;
    char what[600];
    snprintf(what, sizeof what, "connecting%s%s", s->group_mode ? "; then joining group " : "",
             s->group_mode ? s->group : "");
    kafka_state(s, 0, what);
    int rc = kafka_refresh(s, 0, err);
    if (!rc && s->txn && !s->group_mode)
        rc = kafka_plan_replay(s, err);
    if (!rc && s->group_mode) {
        rc = kafka_subscribe(s, err);
        snprintf(what, sizeof what, "waiting for group %s to assign partitions", s->group);
        kafka_state(s, 0, what);
    }
    if (!rc && s->has_pattern && !s->nparts && !s->group_mode) {
        sl_api->log(s->peer.h, SL_LOG_WARN,
                    "kafka source: no topic matches pattern '%s' yet; looking again every %lld ms",
                    s->pattern_text, (long long)s->refresh_every);
        snprintf(what, sizeof what, "no topic matches pattern '%s' yet", s->pattern_text);
        kafka_state(s, 0, what);
    }
    return rc;
}

/* ---- one batch -------------------------------------------------------------------- */

/* The value of a message: bytes (copied into batch memory), parsed JSON
 * (an event object is an SL_OBJECT), or null for a tombstone. SL_EINVAL (err filled) when it is not
 * JSON. */
static int kafka_value(kafka_source *s, const rd_kafka_message_t *m, sl_mem *mem, sl_value *out,
                       sl_error *err) {
    if (!m->payload) {
        *out = sl_null();
        return 0;
    }
    if (!s->json) {
        *out = sl_bytes_copy(mem, m->payload, m->len);
        return out->type == SL_BYTES ? 0 : SL_ENOMEM;
    }
    sl_error perr = {0, ""};
    if (sl_api->json_parse(m->payload, m->len, out, mem, &perr) == 0)
        return 0;
    return sl_api->error_set(
        err, SL_EINVAL, "kafka source: %s/%d offset %lld: value is not JSON: %s",
        rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset, perr.msg);
}

/* [name, value] pairs of a message's headers (null values stay null). */
static int kafka_headers(const rd_kafka_message_t *m, sl_mem *mem, sl_value *out) {
    rd_kafka_headers_t *hdrs = NULL;
    *out = sl_list(NULL, 0);
    if (rd_kafka_message_headers(m, &hdrs) || !hdrs || !rd_kafka_header_cnt(hdrs))
        return 0;
    size_t n = rd_kafka_header_cnt(hdrs);
    sl_value *items = sl_alloc(mem, n * 3 * sizeof *items);
    if (!items)
        return SL_ENOMEM;
    sl_value *pairs = items + n;
    for (size_t i = 0; i < n; i++) {
        const char *name;
        const void *val;
        size_t size;
        rd_kafka_header_get_all(hdrs, i, &name, &val, &size);
        pairs[2 * i] = sl_bytes_copy(mem, name, strlen(name));
        pairs[2 * i + 1] = val ? sl_bytes_copy(mem, val, size) : sl_null();
        items[i] = sl_list(&pairs[2 * i], 2);
    }
    *out = sl_list(items, n);
    return 0;
}

/* (key, [value, topic, partition, offset, timestamp, headers]). */
static int kafka_full_value(kafka_part *p, const rd_kafka_message_t *m, int64_t t, int64_t ts,
                            sl_value v, sl_mem *mem, sl_value *out) {
    sl_value *f = sl_alloc(mem, 6 * sizeof *f);
    if (!f)
        return SL_ENOMEM;
    if (p->topic_t != t || p->topic_v.type != SL_BYTES) {
        p->topic_v = sl_bytes_copy(mem, p->topic, strlen(p->topic));
        p->topic_t = t;
    }
    f[0] = v;
    f[1] = p->topic_v;
    f[2] = sl_int(m->partition);
    f[3] = sl_int(m->offset);
    f[4] = sl_int(ts);
    int rc = kafka_headers(m, mem, &f[5]);
    *out = sl_list(f, 6);
    return rc;
}

/* Emit one message as a record of the configured shape. */
static int kafka_emit(kafka_source *s, kafka_part *p, const rd_kafka_message_t *m, int64_t t,
                      sl_emitter *out, sl_error *err) {
    sl_record r;
    int rc = kafka_value(s, m, out->mem, &r.value, err);
    if (rc == SL_EINVAL && s->skip_poison) {
        sl_api->counter_add(s->c_poison, 1);
        sl_api->log(s->peer.h, SL_LOG_WARN, "%s (skipped: on_error: skip)", err->msg);
        err->code = 0;
        err->msg[0] = 0;
        return 0;
    }
    if (rc < 0)
        return rc == SL_ENOMEM ? sl_api->error_set(err, rc, "kafka source: out of memory") : rc;
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    if (ts < 0)
        ts = t;
    r.ts = ts;
    r.key = sl_null();
    if (s->shape != KAFKA_REC_VALUE) {
        r.key = m->key ? sl_bytes_copy(out->mem, m->key, m->key_len) : sl_null_key();
        if (m->key && r.key.type != SL_BYTES)
            return sl_api->error_set(err, SL_ENOMEM, "kafka source: out of memory");
    }
    if (s->shape == KAFKA_REC_FULL &&
        kafka_full_value(p, m, t, ts, r.value, out->mem, &r.value) < 0)
        return sl_api->error_set(err, SL_ENOMEM, "kafka source: out of memory");
    s->pend_records++; /* counted once per poll: two atomics a message cost 5% */
    s->pend_bytes += (int64_t)(m->len + m->key_len);
    /* each Kafka partition is one partition of the batch, in offset order
     * (messages come in runs per partition: a switch is rare) */
    uint32_t idx = (uint32_t)(p - s->parts);
    if (idx != s->emit_part) {
        rc = sl_api->emit_partition(out, idx);
        if (rc < 0)
            return sl_api->error_set(err, rc, "kafka source: batch partition %u: %s", idx,
                                     sl_api->strerror(rc));
        s->emit_part = idx;
    }
    return sl_emit(out, &r);
}

/* Keep a message past the batch's range for the next batch. */
static int kafka_carry(kafka_part *p, rd_kafka_message_t *m) {
    if (p->chead > 0 && p->chead == p->ncarry)
        p->chead = p->ncarry = 0;
    if (p->ncarry == p->ccap) {
        if (p->chead) { /* slide the live part to the front */
            memmove(p->carry, p->carry + p->chead, (p->ncarry - p->chead) * sizeof *p->carry);
            p->ncarry -= p->chead;
            p->chead = 0;
        }
        if (p->ncarry == p->ccap) {
            size_t cap = p->ccap ? 2 * p->ccap : 64;
            rd_kafka_message_t **c = sl_api->realloc(p->carry, cap * sizeof *c);
            if (!c)
                return SL_ENOMEM;
            p->carry = c;
            p->ccap = cap;
        }
    }
    p->carry[p->ncarry++] = m;
    return 0;
}

/* Stop (pause nonzero) or restart fetching partition p. librdkafka drops
 * what it had prefetched for a paused partition and resumes after the last
 * message it handed out, which is the last one kept: nothing is lost. */
static void kafka_pause(kafka_source *s, kafka_part *p, int pause) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
    rd_kafka_resp_err_t e =
        pause ? rd_kafka_pause_partitions(s->rk, l) : rd_kafka_resume_partitions(s->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (!e) {
        p->paused = pause;
        sl_api->counter_add(s->c_pauses, pause);
    }
}

/* How many fetched messages a partition may keep past its range before it
 * is paused: the next batch's worth, at least KAFKA_KEEP_MIN. */
static size_t kafka_keep_max(const kafka_source *s) {
    return s->max_records > KAFKA_KEEP_MIN ? (size_t)s->max_records : KAFKA_KEEP_MIN;
}

/* The consumer has gone up to `offset` in partition p: every offset below
 * came out of it, as a message (emitted already, or kept past the range) or
 * as a record it never delivers. So the range holds nothing more below it:
 * a range whose end it reached is complete, though its last offsets were no
 * messages (markers, aborted records), and a range cut later is cut there. */
static void kafka_reached(kafka_part *p, int64_t offset) {
    if (offset > p->fetched)
        p->fetched = offset;
    int64_t done = p->fetched < p->until ? p->fetched : p->until;
    if (p->next < done)
        p->next = done;
}

/* Take one message of partition p: emit it if it is in [next, until),
 * keep it if it is past the range, drop it if it is before (a stale
 * message from before a seek). Consumes `m` in every case. */
static int kafka_take(kafka_source *s, kafka_part *p, rd_kafka_message_t *m, int64_t t,
                      sl_emitter *out, sl_error *err) {
    int rc = 0;
    if (m->offset >= p->fetched)
        p->fetched = m->offset + 1;
    if (m->offset < p->next) {
        rd_kafka_message_destroy(m);
    } else if (m->offset >= p->until) {
        /* messages come in offset order: nothing more exists below until */
        p->next = p->until > p->next ? p->until : p->next;
        if (p->ncarry > p->chead && m->offset <= p->carry[p->ncarry - 1]->offset) {
            rd_kafka_message_destroy(m); /* fetched again after a resume */
        } else if (kafka_carry(p, m) < 0) {
            rd_kafka_message_destroy(m);
            rc = sl_api->error_set(err, SL_ENOMEM, "kafka source: out of memory");
        } else if (!p->paused && p->ncarry - p->chead >= kafka_keep_max(s)) {
            kafka_pause(s, p, 1); /* the rest waits in Kafka, not in memory */
        }
    } else {
        rc = kafka_emit(s, p, m, t, out, err);
        p->next = m->offset + 1;
        rd_kafka_message_destroy(m);
    }
    return rc;
}

/* Emit the kept messages that fall into this batch's range. */
static int kafka_drain_carry(kafka_source *s, kafka_part *p, int64_t t, sl_emitter *out,
                             sl_error *err) {
    int rc = 0;
    while (!rc && p->chead < p->ncarry && p->carry[p->chead]->offset < p->until) {
        rd_kafka_message_t *m = p->carry[p->chead++];
        rc = kafka_take(s, p, m, t, out, err);
    }
    if (p->chead < p->ncarry && p->next < p->until)
        p->next = p->until; /* the next kept one is past the range: it is complete */
    kafka_reached(p, p->fetched);
    /* fetch again when the range needs more than is kept, or little is kept */
    if (p->paused && (p->next < p->until || p->ncarry - p->chead < kafka_keep_max(s) / 2))
        kafka_pause(s, p, 0);
    return rc;
}

/* Move partition p to `offset` (its next offsets were deleted, or the log
 * was truncated below them). */
static void kafka_seek(kafka_source *s, kafka_part *p, int64_t offset) {
    if (p->paused)
        kafka_pause(s, p, 0);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = offset;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(s->rk, l, KAFKA_WATERMARK_TIMEOUT_MS);
    if (e) {
        sl_api->log(s->peer.h, SL_LOG_WARN, "kafka source: %s/%d: seek to %lld: %s", p->topic,
                    (int)p->partition, (long long)offset, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(l);
    kafka_part_drop_carry(p);
    p->next = p->fetched = offset;
}

/* Fix partition p's range [next, until) for this batch from its
 * watermarks. Returns 0, or 1 when the brokers did not answer (the
 * partition sits this batch out). */
static int kafka_range(kafka_source *s, kafka_part *p) {
    int64_t low = -1, high = -1;
    /* the watermarks of the last fetch response: a query would wait behind
     * the fetcher's long poll on the broker connection (fetch.wait.max.ms)
     * for every partition; a range a little short of the newest message is
     * fine, the rest comes with the next batch */
    rd_kafka_resp_err_t e =
        rd_kafka_get_watermark_offsets(s->rk, p->topic, p->partition, &low, &high);
    /* ask the broker when nothing is cached, and before acting on a cached
     * figure that puts next out of range: a partition just assigned may
     * have a cache from before it had data */
    if (e || low < 0 || high < 0 || p->next < low || p->next > high)
        e = rd_kafka_query_watermark_offsets(s->rk, p->topic, p->partition, &low, &high,
                                             KAFKA_WATERMARK_TIMEOUT_MS);
    p->until = p->next;
    if (e) {
        char why[512];
        kafka_why(s, e, why, sizeof why);
        if (!s->outage)
            sl_api->log(s->peer.h, SL_LOG_WARN,
                        "kafka source: %s/%d: cannot read its offsets (%s); batches stay empty "
                        "until the brokers answer again",
                        p->topic, (int)p->partition, why);
        return 1;
    }
    if (p->next < low) {
        sl_api->counter_add(s->c_lost, low - p->next);
        sl_api->log(s->peer.h, SL_LOG_WARN,
                    "kafka source: %s/%d: offsets %lld..%lld were deleted (retention) before they "
                    "were read; going on at %lld",
                    p->topic, (int)p->partition, (long long)p->next, (long long)low - 1,
                    (long long)low);
        kafka_seek(s, p, low);
    } else if (p->next > high) {
        sl_api->log(s->peer.h, SL_LOG_WARN,
                    "kafka source: %s/%d: the log ends at %lld, before the next offset %lld (was "
                    "the topic recreated?); going on at %lld",
                    p->topic, (int)p->partition, (long long)high, (long long)p->next,
                    (long long)high);
        kafka_seek(s, p, high);
    }
    p->until = s->max_records && high - p->next > s->max_records ? p->next + s->max_records : high;
    int64_t lag = high - p->until;
    kafka_lag_set(s, p, lag);
    return 0;
}

/* A consumer error event: fatal ones fail the batch, the others (brokers
 * going away and coming back) are counted and logged. */
static int kafka_consumer_error(kafka_source *s, rd_kafka_message_t *m, sl_error *err) {
    rd_kafka_resp_err_t e = m->err;
    char what[300];
    snprintf(what, sizeof what, "%s%s%s", m->rkt ? rd_kafka_topic_name(m->rkt) : "",
             m->rkt ? ": " : "", rd_kafka_message_errstr(m));
    rd_kafka_message_destroy(m);
    if (e == RD_KAFKA_RESP_ERR__PARTITION_EOF)
        return 0;
    if (e == RD_KAFKA_RESP_ERR__FATAL || e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
        e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
        e == RD_KAFKA_RESP_ERR__AUTHENTICATION || e == RD_KAFKA_RESP_ERR__SSL)
        return sl_api->error_set(err, SL_EIO, "kafka source: %s", what);
    sl_api->counter_add(s->c_errors, 1);
    sl_api->log(s->peer.h, SL_LOG_WARN, "kafka source: %s", what);
    return 0;
}

/* The number of partitions whose range is not complete yet. */
static size_t kafka_open_ranges(const kafka_source *s) {
    size_t n = 0;
    for (size_t i = 0; i < s->nparts; i++)
        n += s->parts[i].next < s->parts[i].until;
    return n;
}

/* One event of the consumer queue: an error, or a message to take. */
static int kafka_handle(kafka_source *s, rd_kafka_message_t *m, int64_t t, sl_emitter *out,
                        sl_error *err) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && m->rkt) {
        /* the fetch reached the end of the log (the last stable offset under
         * read_committed) at m->offset, after every record below it */
        kafka_part *p = kafka_find_part(s, rd_kafka_topic_name(m->rkt), m->partition);
        if (p)
            kafka_reached(p, m->offset);
        rd_kafka_message_destroy(m);
        return 0;
    }
    if (m->err)
        return kafka_consumer_error(s, m, err);
    kafka_part *p = kafka_find_part(s, rd_kafka_topic_name(m->rkt), m->partition);
    if (!p) {
        rd_kafka_message_destroy(m);
        return 0;
    }
    return kafka_take(s, p, m, t, out, err);
}

#define KAFKA_BURST 512 /* messages taken from the consumer queue at once */

/* Consume until every partition's range is complete, or fetch_timeout.
 * With assignment: manual the consumer queue is read in bursts of up to
 * KAFKA_BURST messages (one lock of the queue, one look at the clock per
 * burst, not per message: measured, a third of the time at 250k msgs/s);
 * with assignment: group one message at a time through consumer_poll,
 * which also serves the rebalances.
 *
 * A burst takes only what is already queued (timeout 0): consume_batch_queue
 * returns early only when the array is full, so with a timeout a range of
 * fewer than KAFKA_BURST messages waited the whole timeout (100 ms added to
 * every small batch). When the queue is empty, consume_queue waits for one
 * message and returns as soon as it comes. */
static int kafka_consume(kafka_source *s, int64_t t, sl_emitter *out, sl_error *err) {
    int64_t deadline = sl_api->now_ms() + s->fetch_timeout;
    int rc = 0;
    rd_kafka_message_t *burst[KAFKA_BURST];
    while (!rc && kafka_open_ranges(s) > 0) {
        int64_t left = deadline - sl_api->now_ms();
        if (left <= 0 || sl_api->stopping(s->peer.h))
            break;
        int wait = left < 100 ? (int)left : 100;
        if (!s->cq) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, wait);
            if (m)
                rc = kafka_handle(s, m, t, out, err);
            continue;
        }
        ssize_t n = rd_kafka_consume_batch_queue(s->cq, 0, burst, KAFKA_BURST);
        if (n == 0 && (burst[0] = rd_kafka_consume_queue(s->cq, wait)))
            n = 1;
        for (ssize_t i = 0; i < n; i++) {
            if (!rc)
                rc = kafka_handle(s, burst[i], t, out, err);
            else
                rd_kafka_message_destroy(burst[i]);
        }
    }
    return rc;
}

/* assignment: group: serve the rebalances (and keep what was fetched)
 * even when no range is open. */
static int kafka_serve(kafka_source *s, int64_t t, sl_emitter *out, sl_error *err) {
    int rc = 0;
    rd_kafka_message_t *m;
    for (int i = 0; i < 1000 && !rc && (m = rd_kafka_consumer_poll(s->rk, 0)); i++)
        rc = kafka_handle(s, m, t, out, err);
    return rc;
}

/* Cut the ranges that did not arrive in time at what did arrive. */
static void kafka_cut_ranges(kafka_source *s) {
    for (size_t i = 0; i < s->nparts; i++) {
        kafka_part *p = &s->parts[i];
        if (p->next >= p->until)
            continue;
        int stopping = sl_api->stopping(s->peer.h);
        sl_api->counter_add(s->c_timeouts, !stopping);
        sl_api->log(s->peer.h, stopping ? SL_LOG_INFO : SL_LOG_WARN,
                    "kafka source: %s/%d: offsets %lld..%lld did not arrive %s; they come with a "
                    "later batch",
                    p->topic, (int)p->partition, (long long)p->next, (long long)p->until - 1,
                    stopping ? "before the stop" : "within fetch_timeout");
        kafka_lag_set(s, p, p->lag + p->until - p->next);
        p->until = p->next;
    }
}

/* Remember the offsets that end batch t, for commit(t). */
static int kafka_remember(kafka_source *s, int64_t t) {
    kafka_pending *np = sl_api->realloc(s->pending, (s->npending + 1) * sizeof *np);
    if (!np)
        return SL_ENOMEM;
    s->pending = np;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)s->nparts);
    for (size_t i = 0; i < s->nparts; i++)
        rd_kafka_topic_partition_list_add(l, s->parts[i].topic, s->parts[i].partition)->offset =
            s->parts[i].next;
    np[s->npending].t = t;
    np[s->npending].offsets = l;
    s->npending++;
    return 0;
}

/* Whether batch t replays without output, for the whole pipeline: while
 * any of its Kafka sources still replays, none reads anything new (whose
 * output would be lost with the batch's). A source that polled t already
 * says what it did; the others what they still have to replay. */
typedef struct kafka_replay_q {
    const kafka_source *self;
    int64_t t;
} kafka_replay_q;

static int kafka_replay_any(void *src, void *ud) {
    const kafka_source *o = src;
    const kafka_replay_q *q = ud;
    if (o != q->self && o->polled_t == q->t)
        return o->replay_t == q->t;
    return kafka_source_catching_up(src);
}

/* Partition p's range while the pipeline replays: the records still to
 * replay, nothing past them. */
static void kafka_replay_range(kafka_part *p) {
    if (p->replay_until <= p->next)
        p->until = p->next;
    else if (p->until > p->replay_until)
        p->until = p->replay_until;
}

/* Revoked partitions whose batch was not safe within revoke_timeout (a
 * checkpoint that takes long, or failing batches): released at their last
 * safe offsets, so the next owner reads again what this member read since. */
static void kafka_revoke_expired(kafka_source *s) {
    sl_api->counter_add(s->c_revoke_timeouts, 1);
    sl_api->log(s->peer.h, SL_LOG_WARN,
                "kafka source: the batch holding the last records of %zu revoked partitions "
                "(time %lld) was not safe (checkpointed, or its outputs done) within "
                "revoke_timeout (%lld ms): releasing them at their last safe offsets; the next "
                "owner reads the records since then again",
                s->nrevoking, (long long)s->revoke_t, (long long)s->revoke_timeout);
    kafka_release(s);
}

static int kafka_source_poll(void *instance, int64_t t, sl_emitter *out, sl_error *err) {
    kafka_source *s = instance;
    int rc = 0;
    s->emit_part = UINT32_MAX;
    s->poll_t = t;
    if (s->nrevoking && sl_api->now_ms() - s->revoke_since >= s->revoke_timeout)
        kafka_revoke_expired(s);
    kafka_replay_q q = {s, t};
    int replay = s->txn && kafka_reg_each_source(s->ctx, kafka_replay_any, &q);
    if (s->group_mode)
        rc = kafka_serve(s, t, out, err);
    else if (sl_api->now_ms() - s->last_refresh >= s->refresh_every)
        rc = kafka_refresh(s, 1, err);
    int down = 0;
    for (size_t i = 0; i < s->nparts && !rc; i++) {
        if (s->parts[i].revoking) { /* the next owner's: nothing more from it */
            s->parts[i].until = s->parts[i].next;
            continue;
        }
        if (down) { /* one unanswered query is enough: do not wait on each */
            s->parts[i].until = s->parts[i].next;
            continue;
        }
        down = kafka_range(s, &s->parts[i]);
        if (!down && replay)
            kafka_replay_range(&s->parts[i]);
        if (!down)
            rc = kafka_drain_carry(s, &s->parts[i], t, out, err);
    }
    if (s->outage && !down)
        sl_api->log(s->peer.h, SL_LOG_INFO, "kafka source: the brokers answer again");
    s->outage = down;
    if (!rc)
        rc = kafka_consume(s, t, out, err);
    if (!rc)
        kafka_cut_ranges(s);
    if (!rc && s->group && kafka_remember(s, t) < 0)
        rc = sl_api->error_set(err, SL_ENOMEM, "kafka source: out of memory");
    sl_api->counter_add(s->c_records, s->pend_records);
    sl_api->counter_add(s->c_bytes, s->pend_bytes);
    if (replay) {
        sl_api->counter_add(s->c_replayed, s->pend_records);
        s->replay_t = t;
    }
    s->polled_t = t;
    s->pend_records = s->pend_bytes = 0;
    return rc;
}

const char *kafka_source_group(void *src) {
    return ((const kafka_source *)src)->group;
}

int kafka_source_replays(void *src, int64_t t) {
    return ((const kafka_source *)src)->replay_t == t;
}

int kafka_source_catching_up(void *src) {
    const kafka_source *s = src;
    for (size_t i = 0; i < s->nparts; i++)
        if (s->parts[i].replay_until > s->parts[i].next)
            return 1;
    return 0;
}

int kafka_source_txn_offsets(void *src, int64_t t, rd_kafka_topic_partition_list_t **offsets,
                             rd_kafka_consumer_group_metadata_t **cgmd, sl_error *err) {
    kafka_source *s = src;
    *offsets = NULL;
    *cgmd = NULL;
    const kafka_pending *pe = NULL;
    for (size_t i = 0; i < s->npending && !pe; i++)
        if (s->pending[i].t == t)
            pe = &s->pending[i];
    if (!pe)
        return 0;
    /* only partitions still assigned (assignment: group) */
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(pe->offsets->cnt);
    for (int i = 0; i < pe->offsets->cnt; i++)
        if (kafka_find_part(s, pe->offsets->elems[i].topic, pe->offsets->elems[i].partition))
            rd_kafka_topic_partition_list_add(l, pe->offsets->elems[i].topic,
                                              pe->offsets->elems[i].partition)
                ->offset = pe->offsets->elems[i].offset;
    *cgmd = s->group_mode ? rd_kafka_consumer_group_metadata(s->rk)
                          : rd_kafka_consumer_group_metadata_new(s->group);
    if (!*cgmd) {
        rd_kafka_topic_partition_list_destroy(l);
        return sl_api->error_set(err, SL_ENOMEM, "kafka source: out of memory");
    }
    *offsets = l;
    return 0;
}

/* ---- offsets: checkpoints and the group ------------------------------------------ */

/* The next offset of every partition: a list of [topic, partition, offset]. */
static int kafka_source_snapshot(void *instance, sl_buf *buf, sl_error *err) {
    kafka_source *s = instance;
    sl_value *v = sl_api->calloc(s->nparts * 4 + 1, sizeof *v);
    if (!v)
        return sl_api->error_set(err, SL_ENOMEM, "kafka source: out of memory");
    sl_value *items = v + 3 * s->nparts;
    for (size_t i = 0; i < s->nparts; i++) {
        v[3 * i] = sl_cstr(s->parts[i].topic);
        v[3 * i + 1] = sl_int(s->parts[i].partition);
        v[3 * i + 2] = sl_int(s->parts[i].next);
        items[i] = sl_list(&v[3 * i], 3);
    }
    sl_value all = sl_list(items, s->nparts);
    int rc = sl_api->value_encode(buf, &all);
    sl_api->free(v);
    return rc ? sl_api->error_set(err, SL_ENOMEM, "kafka source: out of memory") : 0;
}

/* Take the positions of a checkpoint; start() resumes there. */
static int kafka_source_restore(void *instance, const void *data, size_t len, sl_error *err) {
    kafka_source *s = instance;
    sl_mem *mem = sl_api->mem_new();
    if (!mem)
        return sl_api->error_set(err, SL_ENOMEM, "kafka source: out of memory");
    size_t off = 0;
    sl_value all;
    int rc = sl_api->value_decode(data, len, &off, &all, mem);
    if (rc || all.type != SL_LIST)
        rc = sl_api->error_set(err, SL_EINVAL,
                               "kafka source: the checkpoint's offsets are not readable (%zu "
                               "bytes); start fresh or restore an older checkpoint",
                               len);
    for (uint32_t i = 0; !rc && i < all.len; i++) {
        const sl_value *e = &all.u.items[i];
        if (e->type != SL_LIST || e->len != 3 || e->u.items[0].type != SL_BYTES ||
            e->u.items[1].type != SL_INT || e->u.items[2].type != SL_INT)
            rc = sl_api->error_set(err, SL_EINVAL,
                                   "kafka source: entry %u of the checkpoint's offsets is not "
                                   "[topic, partition, offset]",
                                   i);
        else if (kafka_pos_add(&s->restored, &s->nrestored, e->u.items[0].u.s, e->u.items[0].len,
                               (int32_t)e->u.items[1].u.i, e->u.items[2].u.i) < 0)
            rc = sl_api->error_set(err, SL_ENOMEM, "kafka source: out of memory");
    }
    sl_api->mem_free(mem);
    if (!rc)
        sl_api->log(s->peer.h, SL_LOG_INFO,
                    "kafka source: resuming %zu partitions from the checkpoint", s->nrestored);
    return rc;
}

/* Batch t is safe (checkpointed, or its outputs done): commit the offsets
 * that end it to the group, asynchronously (a failure is counted: the
 * checkpoint, not the group, is what a restart resumes from). */
/* Commit the offsets of `all` whose partitions are still assigned: a
 * revoked one belongs to another member now, whose progress an older offset
 * would overwrite. Asynchronous; a failure is counted by kafka_commit_cb. */
static void kafka_commit_assigned(kafka_source *s, const rd_kafka_topic_partition_list_t *all) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(all->cnt);
    for (int i = 0; i < all->cnt; i++) {
        const kafka_part *p = kafka_find_part(s, all->elems[i].topic, all->elems[i].partition);
        /* below its safe offset: an entry from before the partition was
         * released and given back, which would move the group back */
        if (p && all->elems[i].offset >= p->safe)
            rd_kafka_topic_partition_list_add(l, all->elems[i].topic, all->elems[i].partition)
                ->offset = all->elems[i].offset;
    }
    if (l->cnt) {
        rd_kafka_resp_err_t e = rd_kafka_commit(s->rk, l, 1);
        if (e)
            kafka_commit_cb(s->rk, e, l, s);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* Batch t is safe (checkpointed, or its outputs done): commit the offsets
 * that end it to the group (the checkpoint, not the group, is what a
 * restart resumes from), unless a transactional sink committed them with
 * its output already; forget the offsets of batches up to t. */
static int kafka_source_commit(void *instance, int64_t t, sl_error *err) {
    kafka_source *s = instance;
    (void)err;
    size_t upto = 0; /* entries with time <= t */
    while (upto < s->npending && s->pending[upto].t <= t)
        upto++;
    if (!upto)
        return 0;
    const rd_kafka_topic_partition_list_t *safe = s->pending[upto - 1].offsets;
    for (int i = 0; i < safe->cnt; i++) {
        kafka_part *p = kafka_find_part(s, safe->elems[i].topic, safe->elems[i].partition);
        if (p && safe->elems[i].offset > p->safe)
            p->safe = safe->elems[i].offset;
    }
    if (!s->txn)
        kafka_commit_assigned(s, safe);
    if (s->nrevoking && t >= s->revoke_t)
        kafka_release(s); /* the batch holding their last records is safe */
    for (size_t i = 0; i < upto; i++)
        rd_kafka_topic_partition_list_destroy(s->pending[i].offsets);
    memmove(s->pending, s->pending + upto, (s->npending - upto) * sizeof *s->pending);
    s->npending -= upto;
    return 0;
}

static const sl_source_ops kafka_source_ops = {
    .struct_size = sizeof(sl_source_ops),
    .mode = SL_SOURCE_DIRECT,
    .start = kafka_source_start,
    .run = NULL,
    .poll = kafka_source_poll,
    .commit = kafka_source_commit,
    .snapshot = kafka_source_snapshot,
    .restore = kafka_source_restore,
};

const sl_component kafka_source_component = {
    .struct_size = sizeof(sl_component),
    .kind = SL_COMPONENT_SOURCE,
    .name = "kafka",
    .doc = "Direct source (Spark's direct stream): at each batch time, per partition, the offset "
           "range [from, until) up to max_records_per_partition, consumed exactly; offsets go "
           "into checkpoints and are committed to the group after them. Records: the value, "
           "(key, value) or (key, [value, topic, partition, offset, timestamp, headers]). "
           "Counters: records, bytes, lag, lag.<topic>.<partition>, offsets_lost, "
           "fetch_timeouts, poison_skipped, commit_failures, fetch_errors, pauses, "
           "replayed_without_output, revoke_timeouts.",
    .params = kafka_source_params,
    .create = kafka_source_create,
    .destroy = kafka_source_destroy,
    .ops = &kafka_source_ops,
};
