package sluice.bench;

import java.io.FileWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.Optional;
import org.apache.spark.streaming.Durations;
import org.apache.spark.streaming.api.java.JavaDStream;
import org.apache.spark.streaming.api.java.JavaPairDStream;
import org.apache.spark.streaming.api.java.JavaReceiverInputDStream;
import org.apache.spark.streaming.api.java.JavaStreamingContext;
import org.apache.spark.streaming.scheduler.StreamingListener;
import org.apache.spark.streaming.scheduler.StreamingListenerBatchCompleted;
import scala.Tuple2;

/**
 * The two word counts of issue 11 (the network word count and the stateful one), for
 * bench/spark.sh.
 *
 * <pre>
 * WordCount MODE HOST PORT INTERVAL_MS MASTER OUT LATENCY [CHECKPOINT_DIR]
 * </pre>
 *
 * MODE is "count" (socketTextStream, flatMap split " ", mapToPair (w,1), reduceByKey) or
 * "state" (the same, then updateStateByKey with a checkpoint directory). "count" appends
 * each batch's counts to OUT as "word TAB count" lines (the benchmark sums them); "state"
 * rewrites OUT after every batch with the running totals (the last batch's is the total).
 * LATENCY gets one line per completed batch from a StreamingListener: "batch_time_ms TAB
 * total_delay_ms TAB records". The program stops after 3 consecutive empty batches that
 * follow data (the feeder closed the connection), so that its wall time can be measured.
 */
public final class WordCount {
    private static final int EMPTY_BATCHES_TO_STOP = 3;

    public static void main(String[] args) throws Exception {
        if (args.length < 7 || !(args[0].equals("count") || args[0].equals("state"))) {
            System.err.println("usage: WordCount count|state HOST PORT INTERVAL_MS MASTER OUT LATENCY"
                    + " [CHECKPOINT_DIR]");
            System.exit(2);
        }
        final String mode = args[0];
        final String host = args[1];
        final int port = Integer.parseInt(args[2]);
        final long intervalMs = Long.parseLong(args[3]);
        final String master = args[4];
        final String out = args[5];
        final String latency = args[6];
        final String checkpoint = args.length > 7 ? args[7] : out + ".checkpoint";

        SparkConf conf = new SparkConf().setMaster(master).setAppName("sluice-bench-" + mode)
                .set("spark.ui.enabled", "false");
        JavaStreamingContext ssc = new JavaStreamingContext(conf, Durations.milliseconds(intervalMs));
        ssc.sparkContext().setLogLevel("WARN");

        final PrintWriter lat = new PrintWriter(new FileWriter(latency, false), true);
        ssc.ssc().addStreamingListener(new StreamingListener() {
            @Override
            public void onBatchCompleted(StreamingListenerBatchCompleted done) {
                var info = done.batchInfo();
                long delay = info.totalDelay().isDefined() ? (Long) info.totalDelay().get() : -1;
                synchronized (lat) {
                    lat.println(info.batchTime().milliseconds() + "\t" + delay + "\t" + info.numRecords());
                }
            }
        });

        JavaReceiverInputDStream<String> lines = ssc.socketTextStream(host, port);
        JavaDStream<String> words =
                lines.flatMap(l -> Arrays.stream(l.split(" ")).filter(w -> !w.isEmpty()).iterator());
        JavaPairDStream<String, Long> counts =
                words.mapToPair(w -> new Tuple2<>(w, 1L)).reduceByKey(Long::sum);

        final AtomicBoolean seenData = new AtomicBoolean(false);
        final AtomicInteger emptyAfterData = new AtomicInteger(0);
        final AtomicBoolean done = new AtomicBoolean(false);
        new FileWriter(out, StandardCharsets.UTF_8, false).close();

        if (mode.equals("count")) {
            counts.foreachRDD(rdd -> {
                List<Tuple2<String, Long>> batch = rdd.collect();
                note(batch.isEmpty(), seenData, emptyAfterData, done);
                if (batch.isEmpty()) return;
                try (PrintWriter w = new PrintWriter(new FileWriter(out, StandardCharsets.UTF_8, true))) {
                    for (Tuple2<String, Long> t : batch) w.println(t._1() + "\t" + t._2());
                }
            });
        } else {
            ssc.checkpoint(checkpoint);
            // The batch's own count feeds the stop rule; the state carries the totals.
            final AtomicLong batchWords = new AtomicLong();
            counts.foreachRDD(rdd -> batchWords.set(rdd.count()));
            JavaPairDStream<String, Long> totals = counts.updateStateByKey(
                    (List<Long> vs, Optional<Long> s) -> {
                        long t = s.orElse(0L);
                        for (Long v : vs) t += v;
                        return Optional.of(t);
                    });
            totals.foreachRDD(rdd -> {
                note(batchWords.get() == 0, seenData, emptyAfterData, done);
                if (batchWords.get() == 0) return;
                List<Tuple2<String, Long>> all = rdd.collect();
                try (PrintWriter w = new PrintWriter(new FileWriter(out, StandardCharsets.UTF_8, false))) {
                    for (Tuple2<String, Long> t : all) w.println(t._1() + "\t" + t._2());
                }
            });
        }

        ssc.start();
        while (!done.get()) ssc.awaitTerminationOrTimeout(50);
        ssc.stop(true, false);
        lat.close();
    }

    private static void note(boolean empty, AtomicBoolean seenData, AtomicInteger emptyAfterData,
            AtomicBoolean done) {
        if (!empty) {
            seenData.set(true);
            emptyAfterData.set(0);
        } else if (seenData.get() && emptyAfterData.incrementAndGet() >= EMPTY_BATCHES_TO_STOP) {
            done.set(true);
        }
    }
}
