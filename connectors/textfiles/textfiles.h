/*
 * textfiles.h — the two components of text_files.so, defined in their own
 * files and listed by textfiles_plugin.c.
 */
#ifndef SLUICE_TEXTFILES_H
#define SLUICE_TEXTFILES_H

#include <sluice/plugin.h>

/* source: text_files (textfiles_source.c), Spark's textFileStream. */
extern const sl_component tf_source_component;
/* sink: text_files (textfiles_sink.c), Spark's saveAsTextFiles. */
extern const sl_component tf_sink_component;

#endif /* SLUICE_TEXTFILES_H */
