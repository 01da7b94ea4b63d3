/*
 * text_files — Spark Streaming's basic file I/O.
 *
 *   source: text_files   a DIRECT source: at each batch, the lines of the
 *                        files that appeared in a directory since the last
 *                        batch (textFileStream; textfiles_source.c);
 *   sink: text_files     one file PREFIX-TIME[.SUFFIX] per batch, one
 *                        element per line, written atomically
 *                        (saveAsTextFiles; textfiles_sink.c).
 *
 * connectors/textfiles/README.md is the user's reference.
 */
#include "textfiles.h"

static const sl_component *const tf_components[] = {&tf_source_component, &tf_sink_component, NULL};

static const sl_plugin tf_plugin = {
    SL_PLUGIN_HEADER,
    "text_files", /* name: the file is text_files.so */
    "0.1.0",
    "text files: new files of a directory as lines (textFileStream), one file per batch "
    "(saveAsTextFiles)",
    "MIT",
    tf_components,
};

SL_PLUGIN_ENTRY(tf_plugin)
