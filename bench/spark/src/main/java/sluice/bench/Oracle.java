package sluice.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.FileReader;
import java.io.FileWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedList;
import java.util.List;
import java.util.Queue;
import java.util.StringJoiner;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.Optional;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.streaming.Duration;
import org.apache.spark.streaming.Durations;
import org.apache.spark.streaming.api.java.JavaDStream;
import org.apache.spark.streaming.api.java.JavaPairDStream;
import org.apache.spark.streaming.api.java.JavaStreamingContext;
import scala.Tuple2;

/**
 * The Spark oracle for sluice (issue 11, point 2), for bench/spark/oracle.sh.
 *
 * <pre>
 * Oracle MODE QUEUE_FILE OUT CHECKPOINT_DIR [QUEUE_FILE_2]
 * </pre>
 *
 * QUEUE_FILE is sluice's queue-source format (one batch per line, a JSON array of text
 * lines). Each line becomes one RDD of a queueStream (oneAtATime); the lines are split on " "
 * as Python's line.split(" ") (Java's split(" ", -1), which keeps trailing empty strings as
 * Python does, where split(" ") would drop them) and paired (w, 1). Then, per MODE, the
 * outputs (each the counterpart of one output of bench/spark_oracle_MODE.yaml):
 *
 * <ul>
 *   <li>count: "count", reduceByKey (the network word count);
 *   <li>state: "state", the same then updateStateByKey (running sum);
 *   <li>window: "w3s1", "w3s2" and "w2s3", reduceByKeyAndWindow(sum, 3 batches, 1 or 2
 *       batches) and (sum, 2 batches, 3 batches: one batch in 3 falls in a gap);
 *   <li>inverse: "inv3s1" and "inv3s2", reduceByKeyAndWindow(sum, minus, 3, 1 or 2, 2
 *       partitions, count != 0); "inv3s1z" and "inv4s2z" (4, 2), without the filter (keys
 *       whose count fell to 0 stay); "inv2s2" (2, 2); "inv2s3": the recomputed
 *       reduceByKeyAndWindow(sum, 2, 3), which sluice's incremental 2/3 window equals, and
 *       "inv2s3-spark", Spark's incremental one, which does not (not compared);
 *   <li>join: the word counts of QUEUE_FILE (a) and QUEUE_FILE_2 (b), batch by batch:
 *       "join", "left", "right", "full" (a.join(b), leftOuterJoin, rightOuterJoin,
 *       fullOuterJoin) and "cogroup";
 *   <li>remove: "remove", updateStateByKey with a function that removes a key
 *       (Optional.empty()) when it got no values in the batch or when its running count
 *       goes over REMOVE_MAX: sluice's agg.expiring with max: 20, drop_idle: true.
 * </ul>
 *
 * Writes every batch's output as "NAME TAB BATCH_INDEX TAB key TAB value" lines, the index
 * counted from 0 from the batch time (so that a window sliding every 2 batches writes
 * indexes 1, 3, ...), the value as sluice's jsonl sink writes it (1, [1,2], [1,null],
 * [[1],[]]); for the stateful modes, the whole state after the batch. Stops after the last
 * input batch.
 */
public final class Oracle {
    static final long INTERVAL_MS = 200;
    static final long REMOVE_MAX = 20;

    /* Shared by the output functions, which run on the driver; static, so that the
     * functions (serialized with the checkpointed graph) capture nothing. */
    static String out;
    static int batches;
    static volatile long firstBatchMs = -1;
    static final AtomicInteger done = new AtomicInteger();

    static Duration batchesOf(int n) {
        return Durations.milliseconds(n * INTERVAL_MS);
    }

    public static void main(String[] args) throws Exception {
        List<String> modes = Arrays.asList("count", "state", "window", "inverse", "join", "remove");
        String mode = args.length > 0 ? args[0] : "";
        if (!modes.contains(mode) || args.length != (mode.equals("join") ? 5 : 4)) {
            System.err.println("usage: Oracle count|state|window|inverse|remove QUEUE_FILE OUT CHECKPOINT_DIR\n"
                    + "       Oracle join QUEUE_FILE OUT CHECKPOINT_DIR QUEUE_FILE_2");
            System.exit(2);
        }
        out = args[2];
        SparkConf conf = new SparkConf().setMaster("local[2]").setAppName("sluice-oracle")
                .set("spark.ui.enabled", "false");
        JavaStreamingContext ssc = new JavaStreamingContext(conf, Durations.milliseconds(INTERVAL_MS));
        ssc.sparkContext().setLogLevel("WARN");
        ssc.checkpoint(args[3]);

        List<List<String>> input = read(args[1]);
        batches = input.size();
        JavaDStream<String> lines = queue(ssc, input);
        /* The first output: the time of the first batch, from which the indexes count. */
        lines.foreachRDD((rdd, time) -> {
            if (firstBatchMs < 0) firstBatchMs = time.milliseconds();
        });
        JavaPairDStream<String, Long> pairs = lines
                .flatMap(l -> Arrays.asList(l.split(" ", -1)).iterator())
                .mapToPair(w -> new Tuple2<>(w, 1L));
        JavaPairDStream<String, Long> counts = pairs.reduceByKey(Long::sum);
        Function<Long, String> num = v -> Long.toString(v);
        switch (mode) {
        case "count":
            emit(counts, "count", num);
            break;
        case "state":
            emit(counts.updateStateByKey((List<Long> vs, Optional<Long> s) -> {
                long t = s.orElse(0L);
                for (Long v : vs) t += v;
                return Optional.of(t);
            }), "state", num);
            break;
        case "window":
            emit(pairs.reduceByKeyAndWindow(Long::sum, batchesOf(3), batchesOf(1)), "w3s1", num);
            emit(pairs.reduceByKeyAndWindow(Long::sum, batchesOf(3), batchesOf(2)), "w3s2", num);
            emit(pairs.reduceByKeyAndWindow(Long::sum, batchesOf(2), batchesOf(3)), "w2s3", num);
            break;
        case "inverse":
            emit(pairs.reduceByKeyAndWindow(Long::sum, (a, b) -> a - b, batchesOf(3), batchesOf(1), 2,
                    t -> t._2() != 0), "inv3s1", num);
            emit(pairs.reduceByKeyAndWindow(Long::sum, (a, b) -> a - b, batchesOf(3), batchesOf(2), 2,
                    t -> t._2() != 0), "inv3s2", num);
            emit(pairs.reduceByKeyAndWindow(Long::sum, (a, b) -> a - b, batchesOf(3), batchesOf(1)),
                    "inv3s1z", num);
            emit(pairs.reduceByKeyAndWindow(Long::sum, (a, b) -> a - b, batchesOf(4), batchesOf(2)),
                    "inv4s2z", num);
            emit(pairs.reduceByKeyAndWindow(Long::sum, (a, b) -> a - b, batchesOf(2), batchesOf(2)),
                    "inv2s2", num);
            /* A window shorter than its slide: Spark's incremental form adds the batches in
             * the gaps (ReducedWindowedDStream adds every batch since the last slide and
             * subtracts only the previous window's), so sluice's is compared with Spark's
             * recomputed form; the incremental one is written as "inv2s3-spark" for the
             * script to count the difference. */
            emit(pairs.reduceByKeyAndWindow(Long::sum, batchesOf(2), batchesOf(3)), "inv2s3", num);
            emit(pairs.reduceByKeyAndWindow(Long::sum, (a, b) -> a - b, batchesOf(2), batchesOf(3), 2,
                    t -> t._2() != 0), "inv2s3-spark", num);
            break;
        case "join": {
            List<List<String>> input2 = read(args[4]);
            if (input2.size() != batches)
                throw new IllegalArgumentException(args[4] + " has " + input2.size() + " batches, "
                        + args[1] + " has " + batches);
            JavaPairDStream<String, Long> b = queue(ssc, input2)
                    .flatMap(l -> Arrays.asList(l.split(" ", -1)).iterator())
                    .mapToPair(w -> new Tuple2<>(w, 1L))
                    .reduceByKey(Long::sum);
            emit(counts.join(b), "join", t -> "[" + t._1() + "," + t._2() + "]");
            emit(counts.leftOuterJoin(b), "left", t -> "[" + t._1() + "," + opt(t._2()) + "]");
            emit(counts.rightOuterJoin(b), "right", t -> "[" + opt(t._1()) + "," + t._2() + "]");
            emit(counts.fullOuterJoin(b), "full", t -> "[" + opt(t._1()) + "," + opt(t._2()) + "]");
            emit(counts.cogroup(b), "cogroup", t -> "[" + list(t._1()) + "," + list(t._2()) + "]");
            break;
        }
        case "remove":
            emit(counts.updateStateByKey((List<Long> vs, Optional<Long> s) -> {
                if (vs.isEmpty()) return Optional.empty(); /* idle this batch */
                long t = s.orElse(0L);
                for (Long v : vs) t += v;
                return t > REMOVE_MAX ? Optional.empty() : Optional.of(t);
            }), "remove", num);
            break;
        default:
            throw new IllegalStateException(mode);
        }
        /* The last output: every output of the batch has been written. */
        lines.foreachRDD(rdd -> {
            done.incrementAndGet();
        });
        new FileWriter(out, StandardCharsets.UTF_8, false).close();
        ssc.start();
        while (done.get() < batches) ssc.awaitTerminationOrTimeout(50);
        ssc.stop(true, false);
    }

    /* The batches of a queue file: one list of text lines per line. */
    static List<List<String>> read(String path) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<List<String>> batches = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new FileReader(path, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null;)
                batches.add(new ArrayList<>(Arrays.asList(json.readValue(line, String[].class))));
        }
        return batches;
    }

    /* A queueStream giving one RDD per batch. */
    static JavaDStream<String> queue(JavaStreamingContext ssc, List<List<String>> batches) {
        Queue<JavaRDD<String>> queue = new LinkedList<>();
        for (List<String> b : batches) queue.add(ssc.sparkContext().parallelize(b, 2));
        return ssc.queueStream(queue, true);
    }

    static String opt(Optional<Long> v) {
        return v.isPresent() ? v.get().toString() : "null";
    }

    static String list(Iterable<Long> vs) {
        StringJoiner j = new StringJoiner(",", "[", "]");
        for (Long v : vs) j.add(v.toString());
        return j.toString();
    }

    /* Append each batch's pairs of `s` to `out` as "name TAB index TAB key TAB fmt(value)". */
    static <V> void emit(JavaPairDStream<String, V> s, String name, Function<V, String> fmt) {
        s.foreachRDD((rdd, time) -> {
            long i = (time.milliseconds() - firstBatchMs) / INTERVAL_MS;
            if (i >= batches) return;
            List<Tuple2<String, V>> rows = rdd.collect();
            try (PrintWriter w = new PrintWriter(new FileWriter(out, StandardCharsets.UTF_8, true))) {
                for (Tuple2<String, V> t : rows)
                    w.println(name + "\t" + i + "\t" + t._1() + "\t" + fmt.call(t._2()));
            }
        });
    }
}
