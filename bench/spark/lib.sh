# bench/spark/lib.sh — the set-up bench/spark.sh and bench/spark/oracle.sh share, sourced by
# both from the repository's root. spark_setup builds $BUILD (Release, configured once) with
# the bench tools, fetches Spark 3.5.9's jars once with mvn into $CACHE (outside the
# repository), compiles bench/spark's Java programs into $CACHE/classes and sets
#   CACHE   ${SLUICE_SPARK_CACHE:-~/.cache/sluice-spark}
#   TOOLS   $BUILD/bench, the C tools (gen_corpus, mkqueue, feed, pace, wordcount)
#   SLUICE  $BUILD/bin/sluice
#   SPARK_JAVA  the java command line up to the main class: the --add-opens Spark 3.5
#               needs on Java 17 (its launcher's JavaModuleOptions) and the class path
# The caller sets BUILD, RUN (a directory for the logs) and die MESSAGE (exits 1).
# shellcheck shell=bash

spark_setup() {
    CACHE=${SLUICE_SPARK_CACHE:-$HOME/.cache/sluice-spark}
    mkdir -p "$CACHE/classes"
    local t p
    for t in mvn javac java; do command -v $t >/dev/null || die "$t is not installed"; done
    if [ ! -f "$BUILD/CMakeCache.txt" ]; then
        echo "== configuring $BUILD (Release)"
        cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$RUN/configure.log" 2>&1 ||
            { cat "$RUN/configure.log" >&2; die "cmake configure failed"; }
    fi
    echo "== building $BUILD"
    cmake --build "$BUILD" -j "$(nproc)" >"$RUN/build.log" 2>&1 ||
        { tail -n 40 "$RUN/build.log" >&2; die "build failed"; }
    TOOLS=$BUILD/bench
    SLUICE=$BUILD/bin/sluice
    if [ ! -f "$CACHE/lib/.complete" ]; then
        echo "== fetching Spark 3.5.9 into $CACHE (once)"
        mvn -q -B -f bench/spark/pom.xml -Dmaven.repo.local="$CACHE/m2" dependency:copy-dependencies \
            -DoutputDirectory="$CACHE/lib" >"$RUN/mvn.log" 2>&1 ||
            { tail -n 20 "$RUN/mvn.log" >&2; die "mvn could not fetch Spark"; }
        touch "$CACHE/lib/.complete"
    fi
    javac -nowarn --release 17 -cp "$CACHE/lib/*" -d "$CACHE/classes" \
        bench/spark/src/main/java/sluice/bench/*.java 2>"$RUN/javac.log" ||
        { cat "$RUN/javac.log" >&2; die "javac failed"; }
    SPARK_JAVA=(java)
    for p in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util \
        java.util.concurrent java.util.concurrent.atomic sun.nio.ch sun.nio.cs sun.security.action \
        sun.util.calendar; do
        SPARK_JAVA+=("--add-opens=java.base/$p=ALL-UNNAMED")
    done
    SPARK_JAVA+=(-cp "$CACHE/classes:$CACHE/lib/*")
}
