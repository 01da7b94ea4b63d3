// tests/integration/kafkajs_client.js — kafkajs as an outside Kafka client
// of the tests (scripts/kafkajs.sh installs it; NODE_PATH points at it).
//
//   node kafkajs_client.js produce BROKERS TOPIC < lines
//       one message per line, acknowledged by all replicas; every third line
//       gets a key ("k<i>") and a header ("source: kafkajs")
//   node kafkajs_client.js transactions BROKERS TOPIC < lines
//       a transactional producer: the lines up to a line "--commit" are one
//       transaction, committed; up to "--abort", one aborted; line i of a
//       transaction goes to partition i % 3. Each transaction ends with a
//       control record (the marker) in each partition it wrote to
//   node kafkajs_client.js consume BROKERS TOPIC N
//       read TOPIC from the beginning until N messages (or 30 s), print
//       "<key or -> <value>" per message, exit 1 if fewer than N arrived
//   node kafkajs_client.js create-topic BROKERS TOPIC PARTITIONS
//       create TOPIC with PARTITIONS partitions (replication factor 1)
//   node kafkajs_client.js add-partitions BROKERS TOPIC COUNT
//       grow TOPIC to COUNT partitions
//   node kafkajs_client.js delete-records BROKERS TOPIC PARTITION OFFSET
//       delete PARTITION's records below OFFSET (what retention does: the
//       log's start offset moves to OFFSET)
'use strict';
const { Kafka, logLevel } = require('kafkajs');
const readline = require('readline');

async function produce(brokers, topic) {
    const kafka = new Kafka({ clientId: 'sluice-test', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const rl = readline.createInterface({ input: process.stdin });
    let batch = [];
    let i = 0;
    const flush = async () => {
        if (batch.length)
            await producer.send({ topic, acks: -1, messages: batch });
        batch = [];
    };
    for await (const line of rl) {
        const m = { value: line };
        if (i % 3 === 0) {
            m.key = 'k' + i;
            m.headers = { source: 'kafkajs' };
        }
        batch.push(m);
        i++;
        if (batch.length >= 500)
            await flush();
    }
    await flush();
    await producer.disconnect();
    process.stderr.write(`kafkajs: produced ${i} messages to ${topic}\n`);
}

async function transactions(brokers, topic) {
    const kafka = new Kafka({ clientId: 'sluice-test', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    const producer = kafka.producer({
        transactionalId: `sluice-test-${process.pid}`,
        idempotent: true,
        maxInFlightRequests: 1,
    });
    await producer.connect();
    const rl = readline.createInterface({ input: process.stdin });
    let messages = [];
    let committed = 0;
    let aborted = 0;
    for await (const line of rl) {
        if (line !== '--commit' && line !== '--abort') {
            messages.push({ value: line, partition: messages.length % 3 });
            continue;
        }
        const txn = await producer.transaction();
        await txn.send({ topic, acks: -1, messages });
        if (line === '--commit') {
            await txn.commit();
            committed++;
        } else {
            await txn.abort();
            aborted++;
        }
        messages = [];
    }
    await producer.disconnect();
    process.stderr.write(`kafkajs: ${committed} transactions committed, ${aborted} aborted to ${topic}\n`);
}

async function consume(brokers, topic, want) {
    const kafka = new Kafka({ clientId: 'sluice-test', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `sluice-test-${process.pid}-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let got = 0;
    const out = [];
    await new Promise((resolve) => {
        const timer = setTimeout(resolve, 30000);
        consumer.run({
            eachMessage: async ({ message }) => {
                const key = message.key === null ? '-' : message.key.toString();
                const value = message.value === null ? '<null>' : message.value.toString();
                out.push(`${key} ${value}`);
                if (++got >= want) {
                    clearTimeout(timer);
                    resolve();
                }
            },
        });
    });
    await consumer.disconnect();
    process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
    if (got < want) {
        process.stderr.write(`kafkajs: ${got} of ${want} messages from ${topic} within 30 s\n`);
        process.exit(1);
    }
}

// admin operations: create-topic, add-partitions, delete-records
async function admin(brokers, what) {
    const kafka = new Kafka({ clientId: 'sluice-test', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    const a = kafka.admin();
    await a.connect();
    try {
        await what(a);
    } finally {
        await a.disconnect();
    }
}

const [cmd, brokers, topic, n, m] = process.argv.slice(2);
const cmds = {
    produce: () => produce(brokers, topic),
    transactions: () => transactions(brokers, topic),
    consume: () => consume(brokers, topic, Number(n)),
    'create-topic': () =>
        admin(brokers, async (a) => {
            if (!(await a.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: Number(n), replicationFactor: 1 }] })))
                throw new Error(`topic ${topic} exists already`);
        }),
    'add-partitions': () => admin(brokers, (a) => a.createPartitions({ topicPartitions: [{ topic, count: Number(n) }] })),
    'delete-records': () =>
        admin(brokers, async (a) => {
            await a.fetchTopicMetadata({ topics: [topic] }); // kafkajs 2.2.4 needs the leaders known
            await a.deleteTopicRecords({ topic, partitions: [{ partition: Number(n), offset: String(m) }] });
        }),
};
const run = cmds[cmd] ? cmds[cmd]() : null;
if (!run) {
    process.stderr.write(
        'usage: kafkajs_client.js produce|transactions BROKERS TOPIC | consume BROKERS TOPIC N |\n' +
            '       create-topic BROKERS TOPIC PARTITIONS | add-partitions BROKERS TOPIC COUNT |\n' +
            '       delete-records BROKERS TOPIC PARTITION OFFSET\n');
    process.exit(2);
}
run.catch((e) => {
    process.stderr.write(`kafkajs: ${e.stack || e}\n`);
    process.exit(1);
});
