// zmq_node_peer.js — a second independent ZeroMQ peer for the tests:
// zeromq.js (npm `zeromq`, its own bundled libzmq; scripts/zeromq-js.sh).
//
//   node zmq_node_peer.js push ENDPOINT N   connect a PUSH, send N messages
//                                          [topic<i%3>, "n<i>"], print "sent N",
//                                          then stay connected until killed
//   node zmq_node_peer.js pull ENDPOINT N   bind a PULL, print N messages as
//                                          JSON lists of frames, one a line
"use strict";
const zmq = require("zeromq");

// A sent message is only queued: zeromq.js's close() does not wait for the
// queue to drain, and a process that exits then loses its tail (95 of 3,000
// once, beside a slow receiver under ASan). So the pusher stays connected,
// its queue draining, until the test has counted everything and kills it.
async function push(endpoint, n) {
    const sock = new zmq.Push({ linger: 10000 });
    sock.connect(endpoint);
    for (let i = 0; i < n; i++) await sock.send([`topic${i % 3}`, `n${i}`]);
    process.stdout.write(`sent ${n}\n`);
    await new Promise(() => setInterval(() => {}, 1 << 30));
}

async function pull(endpoint, n) {
    const sock = new zmq.Pull({ receiveTimeout: 20000 });
    await sock.bind(endpoint);
    for (let got = 0; got < n; got++) {
        const frames = await sock.receive();
        process.stdout.write(JSON.stringify(frames.map((f) => f.toString())) + "\n");
    }
    sock.close();
}

const [cmd, endpoint, count] = process.argv.slice(2);
const run = cmd === "push" ? push : cmd === "pull" ? pull : null;
if (!run || !endpoint || !(Number(count) > 0)) {
    process.stderr.write("usage: node zmq_node_peer.js push|pull ENDPOINT N\n");
    process.exit(2);
}
run(endpoint, Number(count)).then(
    () => process.exit(0),
    (e) => {
        process.stderr.write(`zmq_node_peer: ${e.message}\n`);
        process.exit(1);
    },
);
