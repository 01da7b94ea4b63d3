// cxx_program.cpp — the public headers as a C++ programmer meets them
// (tests/install/cxx_test.sh builds it with g++ and clang++ against an
// installed sluice). With "plugin" defined it is a plugin instead (cxx.so:
// cxx.upper, a MAP that upper-cases bytes), so plugin.h's macros compile as
// C++ too; without, a program that runs queue -> cxx.upper -> a C++ lambda
// for two batches and checks what it got.
#include <sluice/plugin.h>
#include <sluice/record.h>

#ifdef SLUICE_CXX_PLUGIN

static int upper_process(void *, const sl_chunk *in, sl_emitter *out, sl_error *err) {
    for (size_t i = 0; i < in->count; i++) {
        sl_record r = in->records[i];
        if (r.value.type != SL_BYTES)
            return sl_api->error_set(err, SL_ETYPE, "cxx.upper: expected bytes, got %s",
                                     sl_api->value_type_name(r.value.type));
        char *buf = static_cast<char *>(sl_alloc(out->mem, r.value.len + 1));
        if (!buf)
            return SL_ENOMEM;
        for (uint32_t j = 0; j < r.value.len; j++) {
            char c = r.value.u.s[j];
            buf[j] = c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c;
        }
        r.value = sl_bytes(buf, r.value.len);
        int rc = sl_emit(out, &r);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static const sl_map_ops upper_ops = {sizeof(sl_map_ops), SL_MAP_ONE, upper_process};
static const sl_component upper = {sizeof(sl_component), SL_COMPONENT_MAP, "upper",
                                   "upper-cases bytes", nullptr, nullptr, nullptr, &upper_ops};
static const sl_component *const components[] = {&upper, nullptr};
static const sl_plugin descriptor = {SL_PLUGIN_HEADER, "cxx", "1.0.0", "a C++ plugin", "MIT",
                                     components};

SL_PLUGIN_ENTRY(descriptor)

#else

#include <sluice/sluice.h>

#include <cstdio>
#include <string>
#include <vector>

// The object helpers of record.h (ABI 1.4) as C++ sees them: build
// {"user": "ann", "amount": 3}, look fields up, follow a path.
static bool objects_ok() {
    static unsigned char space[1024];
    static size_t used = 0;
    sl_mem mem = {[](sl_mem *, size_t n) -> void * {
                      n = (n + 15) & ~static_cast<size_t>(15);
                      if (used + n > sizeof space)
                          return nullptr;
                      used += n;
                      return space + used - n;
                  },
                  nullptr};
    sl_object_builder b;
    sl_object_begin(&b, &mem, 2);
    sl_object_add(&b, "user", sl_cstr("ann"));
    sl_object_add(&b, "amount", sl_int(3));
    sl_value obj = sl_object_end(&b);
    const sl_value *amount = sl_object_get(&obj, "amount");
    sl_value list = sl_list(&obj, 1);
    const sl_value *user = sl_object_path(&list, "0.user");
    return obj.type == SL_OBJECT && sl_value_items(&obj) == 4 && amount && amount->u.i == 3 &&
           user && user->len == 3 && !sl_object_get(&obj, "nope");
}

int main(int argc, char **argv) {
    if (!objects_ok()) {
        std::fprintf(stderr, "cxx_program: the object helpers failed\n");
        return 1;
    }
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s INSTALLED_PLUGIN_DIR CXX_PLUGIN_DIR QUEUE_FILE\n", argv[0]);
        return 2;
    }
    std::vector<std::string> got;
    int log_lines = 0;
    sl_set_log_callback([](void *ud, int, const char *) { ++*static_cast<int *>(ud); },
                        &log_lines);
    sl_context *ctx = sl_context_new(1000);
    sl_context_set_clock(ctx, SL_CLOCK_MANUAL);
    sl_context_set_max_batches(ctx, 2);
    sl_context_add_plugin_dir(ctx, argv[1]);
    sl_context_add_plugin_dir(ctx, argv[2]);
    sl_stream *s = sl_map(sl_queue_stream(ctx, argv[3]), "cxx.upper", nullptr);
    sl_foreach_batch(
        s,
        [](void *ud, int64_t, const sl_record *recs, size_t n, sl_error *) {
            auto *out = static_cast<std::vector<std::string> *>(ud);
            for (size_t i = 0; i < n; i++)
                out->emplace_back(recs[i].value.u.s, recs[i].value.len);
            return 0;
        },
        &got);
    if (sl_context_start(ctx) != 0 || sl_context_await_termination(ctx) != 0) {
        std::fprintf(stderr, "cxx_program: %s\n", sl_context_errmsg(ctx));
        return 1;
    }
    char *graph = sl_context_graph(ctx, SL_GRAPH_TEXT);
    bool graph_ok = graph && std::string(graph).find("cxx.upper") != std::string::npos;
    sl_free(graph);
    sl_context_free(ctx);
    sl_set_log_callback(nullptr, nullptr);
    std::string all;
    for (const auto &w : got)
        all += w + " ";
    if (all != "A BB CCC " || !graph_ok) {
        std::fprintf(stderr, "cxx_program: got '%s' (graph %s)\n", all.c_str(),
                     graph_ok ? "ok" : "missing cxx.upper");
        return 1;
    }
    std::printf("cxx_program: ok (%s)\n", sl_strerror(SL_OK));
    return 0;
}

#endif
