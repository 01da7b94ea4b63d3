/* nowrite.so: a SINK without write() and a DIRECT source without poll():
 * refused when loaded, naming the component and the missing callback,
 * before any pipeline uses them. */
#include <sluice/plugin.h>

static const sl_sink_ops sink_ops = {.struct_size = sizeof(sl_sink_ops)};
static const sl_component sink = {.struct_size = sizeof(sl_component),
                                  .kind = SL_COMPONENT_SINK,
                                  .name = "out",
                                  .doc = "a sink that cannot write",
                                  .ops = &sink_ops};

static const sl_component *const components[] = {&sink, NULL};

static const sl_plugin descriptor = {
    SL_PLUGIN_HEADER, "nowrite", "0.1.0", "test plugin: a sink without write()", "MIT", components,
};

SL_PLUGIN_ENTRY(descriptor)
