package sluice.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.FileReader;
import java.io.FileWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.Optional;
import org.apache.spark.streaming.Durations;
import org.apache.spark.streaming.api.java.JavaPairDStream;
import org.apache.spark.streaming.api.java.JavaStreamingContext;
import scala.Tuple2;

/**
 * The Spark oracle for sluice's word counts (issue 11, point 2), for bench/spark_oracle.sh.
 *
 * <pre>
 * Oracle count|state QUEUE_FILE OUT CHECKPOINT_DIR
 * </pre>
 *
 * QUEUE_FILE is sluice's queue-source format (one batch per line, a JSON array of text
 * lines). Each line becomes one RDD of a queueStream (oneAtATime), then the network word
 * count (split " " as Python's line.split(" "): Java's split(" ", -1), which keeps trailing
 * empty strings as Python does, where split(" ") would drop them; (w, 1), reduceByKey) or the stateful one (updateStateByKey). Writes
 * every batch's output as "BATCH_INDEX TAB word TAB count" lines (index from 0; for
 * "state", the whole state after the batch) and stops after the last batch.
 */
public final class Oracle {
    public static void main(String[] args) throws Exception {
        if (args.length != 4 || !(args[0].equals("count") || args[0].equals("state"))) {
            System.err.println("usage: Oracle count|state QUEUE_FILE OUT CHECKPOINT_DIR");
            System.exit(2);
        }
        final String out = args[2];
        SparkConf conf = new SparkConf().setMaster("local[2]").setAppName("sluice-oracle")
                .set("spark.ui.enabled", "false");
        JavaStreamingContext ssc = new JavaStreamingContext(conf, Durations.milliseconds(200));
        ssc.sparkContext().setLogLevel("WARN");
        ssc.checkpoint(args[3]);

        ObjectMapper json = new ObjectMapper();
        Queue<JavaRDD<String>> queue = new LinkedList<>();
        int n = 0;
        try (BufferedReader r = new BufferedReader(new FileReader(args[1], StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; n++) {
                List<String> lines = Arrays.asList(json.readValue(line, String[].class));
                queue.add(ssc.sparkContext().parallelize(new ArrayList<>(lines), 2));
            }
        }
        final int batches = n;
        JavaPairDStream<String, Long> counts = ssc.queueStream(queue, true)
                .flatMap(l -> Arrays.asList(l.split(" ", -1)).iterator())
                .mapToPair(w -> new Tuple2<>(w, 1L))
                .reduceByKey(Long::sum);
        if (args[0].equals("state")) {
            counts = counts.updateStateByKey((List<Long> vs, Optional<Long> s) -> {
                long t = s.orElse(0L);
                for (Long v : vs) t += v;
                return Optional.of(t);
            });
        }
        final AtomicInteger index = new AtomicInteger();
        new FileWriter(out, StandardCharsets.UTF_8, false).close();
        counts.foreachRDD(rdd -> {
            int i = index.get();
            if (i >= batches) return;
            List<Tuple2<String, Long>> rows = rdd.collect();
            try (PrintWriter w = new PrintWriter(new FileWriter(out, StandardCharsets.UTF_8, true))) {
                for (Tuple2<String, Long> t : rows) w.println(i + "\t" + t._1() + "\t" + t._2());
            }
            index.incrementAndGet();
        });
        ssc.start();
        while (index.get() < batches) ssc.awaitTerminationOrTimeout(50);
        ssc.stop(true, false);
    }
}
