// tests/integration/web_page_check.js — the live page (core/src/web/index.html)
// in a real browser: playwright-core (scripts/playwright.sh) drives Debian's
// Chromium headless, opens the page a running sluice serves, and compares
// what the page shows with what the API said.
//
//   node web_page_check.js URL EXPECTED.json SCREENSHOT.png [READY_FILE]
//
// EXPECTED.json (written by tests/integration/test_http_page.sh):
//   {"interval_ms": 300,
//    "batches": [...],            the answer of /api/v1/batches, oldest first
//    "graph": {...},              the answer of /api/v1/graph
//    "nonempty_records": [3, 5],  the record counts of the batches that had any, in order
//    "sources": {"lines": 50},    records_total per source stream
//    "stateful": {"totals": 51},  keys per stateful stream
//    "plugin_metrics": [...],     the plugin_metrics of /api/v1/status
//    "checkpoint": true}          checkpoints are written
//
// It waits until the page has drawn a batch at least as new as the newest
// expected one, then checks the batch table, the four timelines and
// histograms, the source, stateful and graph views against EXPECTED, that
// no request left the page's own origin and that the page logged no error;
// saves a screenshot; and, given READY_FILE, writes it and waits (20 s at
// most) for the page to say "connection lost" once the test stops sluice.
// Prints one line per check; exits 1 if any failed, 2 on misuse.
'use strict';
const fs = require('fs');
const { chromium } = require('playwright-core');

const [url, expectedPath, shotPath, readyPath] = process.argv.slice(2);
if (!url || !expectedPath || !shotPath) {
    process.stderr.write('usage: node web_page_check.js URL EXPECTED.json SCREENSHOT.png [READY_FILE]\n');
    process.exit(2);
}
const expected = JSON.parse(fs.readFileSync(expectedPath, 'utf8'));
const METRICS = {
    'input-rate': (b) => b.records / (expected.interval_ms / 1000),
    'scheduling-delay': (b) => b.scheduling_delay_ms,
    'processing-time': (b) => b.processing_time_ms,
    'total-delay': (b) => b.total_delay_ms,
};

let failures = 0;
function check(what, ok, detail) {
    if (ok) {
        console.log(`ok:   ${what}`);
    } else {
        failures++;
        console.log(`FAIL: ${what}${detail === undefined ? '' : ': ' + detail}`);
    }
}
function same(a, b) {
    return JSON.stringify(a) === JSON.stringify(b);
}
function close(a, b) {
    return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

// Everything the page shows that the checks read, from its data attributes.
function readPage() {
    const num = (v) => (v === '' || v == null ? null : Number(v));
    const rows = (sel) => Array.from(document.querySelectorAll(sel));
    const out = {
        conn: document.body.dataset.conn,
        updates: Number(document.body.dataset.updates),
        pageError: document.getElementById('page-error').hidden ? null : document.getElementById('page-error').textContent,
        completed: document.getElementById('batches-completed').textContent,
        state: document.getElementById('state').dataset.state,
        table: rows('#batches tbody tr[data-batch-time]').map((r) => ({
            t: Number(r.dataset.batchTime), records: num(r.dataset.records), status: r.dataset.status,
        })),
        charts: {}, hists: {},
        sources: rows('#sources tbody tr[data-stream]').map((r) => ({
            stream: r.dataset.stream, state: r.dataset.state, records: num(r.dataset.recordsTotal),
        })),
        stateful: rows('#stateful tbody tr[data-stream]').map((r) => ({
            stream: r.dataset.stream, keys: num(r.dataset.keys), bytes: num(r.dataset.bytes),
        })),
        pluginMetrics: rows('#plugin-metrics tbody tr[data-name]').map((r) => ({
            stream: r.dataset.stream, plugin: r.dataset.plugin, name: r.dataset.name, type: r.dataset.type,
            value: num(r.dataset.value),
        })),
        graph: rows('#graph g.node[data-stream-id]').map((g) => ({
            id: Number(g.dataset.streamId), name: g.dataset.name, op: g.dataset.op,
            inputs: g.dataset.inputs ? g.dataset.inputs.split(',').map(Number) : [],
        })),
        graphOutputs: rows('#graph g.node[data-output]').map((g) => ({ name: g.dataset.output, stream: g.dataset.stream })),
        checkpoint: {
            enabled: document.getElementById('checkpoint').dataset.enabled,
            written: document.querySelector('#checkpoint [data-field=written]').textContent,
        },
    };
    for (const key of ['input-rate', 'scheduling-delay', 'processing-time', 'total-delay']) {
        const svg = document.getElementById('chart-' + key);
        out.charts[key] = svg ? rows('#chart-' + key + ' [data-batch-time]').map((p) => ({
            t: Number(p.dataset.batchTime), v: Number(p.dataset.value),
        })) : null;
        const hist = document.getElementById('hist-' + key);
        out.hists[key] = hist ? rows('#hist-' + key + ' [data-count]').map((b) => Number(b.dataset.count)) : null;
    }
    return out;
}

async function main() {
    const browser = await chromium.launch({
        executablePath: process.env.SLUICE_CHROMIUM || '/usr/bin/chromium',
        args: ['--no-sandbox'],
    });
    const origin = new URL(url).origin;
    const foreign = [];
    const errors = [];
    try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
        page.on('request', (r) => {
            if (!r.url().startsWith(origin + '/') && !r.url().startsWith('data:')) foreign.push(r.url());
        });
        page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
        page.on('console', (m) => {
            if (m.type() === 'error') errors.push('console: ' + m.text());
        });
        const resp = await page.goto(url);
        check('GET / answers 200 text/html; charset=utf-8',
            resp.status() === 200 && resp.headers()['content-type'] === 'text/html; charset=utf-8',
            `${resp.status()} ${resp.headers()['content-type']}`);

        const newest = expected.batches.length ? expected.batches[expected.batches.length - 1].batch_time : 0;
        try {
            await page.waitForFunction((t) => {
                const r = document.querySelector('#batches tbody tr[data-batch-time]');
                return document.body.dataset.conn === 'live' && r && Number(r.dataset.batchTime) >= t;
            }, newest, { timeout: 15000 });
        } catch (e) {
            check(`the page shows batch ${newest} within 15 s`, false, e.message.split('\n')[0]);
        }
        const got = await page.evaluate(readPage);
        check('the page is live and drew without error', got.conn === 'live' && got.updates > 0 && !got.pageError,
            `conn ${got.conn}, updates ${got.updates}, ${got.pageError}`);

        // the batch table: newest first, and over the time both saw, exactly the API's batches
        const times = got.table.map((r) => r.t);
        check(`the table lists ${times.length} batches newest first`,
            times.length > 0 && times.every((t, i) => i === 0 || t < times[i - 1]), times.slice(0, 5).join(','));
        const shown = got.table.filter((r) => r.t <= newest).reverse();
        const from = shown.length ? shown[0].t : Infinity;
        const want = expected.batches.filter((b) => b.batch_time >= from)
            .map((b) => ({ t: b.batch_time, records: b.records, status: b.status }));
        check(`the table's batches up to ${newest} are the API's (${want.length})`,
            want.length > 0 && same(shown, want),
            `page ${JSON.stringify(shown.slice(-4))} api ${JSON.stringify(want.slice(-4))}`);
        const nonempty = shown.filter((r) => r.records > 0).map((r) => r.records);
        check('the batches that had records hold the counts written, in order',
            same(nonempty, expected.nonempty_records),
            `${JSON.stringify(nonempty)} != ${JSON.stringify(expected.nonempty_records)}`);

        // every chart: one point per batch in the table, each worth the API's figure
        const byTime = new Map(expected.batches.map((b) => [b.batch_time, b]));
        for (const [key, of] of Object.entries(METRICS)) {
            const pts = got.charts[key];
            if (!pts) {
                check(`#chart-${key} exists`, false);
                continue;
            }
            // over the batches both saw: a point exactly where the API has a value
            const seen = pts.filter((p) => byTime.has(p.t)).map((p) => p.t).sort((a, b) => a - b);
            const valued = times.filter((t) => byTime.has(t) && of(byTime.get(t)) != null).sort((a, b) => a - b);
            check(`#chart-${key}: a point for every batch of the table with a value (${valued.length})`,
                valued.length > 0 && same(seen, valued), `${seen.length} points, ${valued.length} rows`);
            const wrong = pts.filter((p) => byTime.has(p.t) && !close(p.v, of(byTime.get(p.t))))
                .map((p) => `${p.t}: ${p.v} != ${of(byTime.get(p.t))}`);
            const compared = pts.filter((p) => byTime.has(p.t)).length;
            check(`#chart-${key}: the ${compared} points the API has show its values`,
                compared > 0 && wrong.length === 0, wrong.slice(0, 3).join('; '));
            const h = got.hists[key] || [];
            check(`#hist-${key}: its bars count every point`, h.reduce((a, b) => a + b, 0) === pts.length,
                `${h.join('+')} != ${pts.length}`);
        }
        const rates = got.charts['input-rate'] || [];
        const maxRate = Math.max(...expected.nonempty_records) / (expected.interval_ms / 1000);
        check('the input rate peaks at the largest batch / interval',
            rates.some((p) => close(p.v, maxRate)), `no point at ${maxRate}`);

        // sources, state, graph, checkpoints
        for (const [stream, n] of Object.entries(expected.sources || {})) {
            const s = got.sources.find((x) => x.stream === stream);
            check(`source ${stream}: ${n} records in all`, s && s.records === n, JSON.stringify(s));
        }
        for (const [stream, keys] of Object.entries(expected.stateful || {})) {
            const s = got.stateful.find((x) => x.stream === stream);
            check(`stateful ${stream}: ${keys} keys, some bytes`, s && s.keys === keys && s.bytes > 0, JSON.stringify(s));
        }
        const wantPlugin = (expected.plugin_metrics || []).map((m) => ({
            stream: m.stream, plugin: m.plugin, name: m.name, type: m.type, value: m.value,
        }));
        check(`the plugin metrics table: the ${wantPlugin.length} counters and gauges of the status, in its order`,
            wantPlugin.length > 0 && same(got.pluginMetrics, wantPlugin), JSON.stringify(got.pluginMetrics));
        const wantGraph = (expected.graph.streams || []).map((s) => ({ id: s.id, name: s.name, op: s.op, inputs: s.inputs }))
            .sort((a, b) => a.id - b.id);
        check(`the graph draws the ${wantGraph.length} streams with their inputs`,
            same(got.graph.sort((a, b) => a.id - b.id), wantGraph), JSON.stringify(got.graph));
        check('the graph draws the outputs', same(got.graphOutputs,
            (expected.graph.outputs || []).map((o) => ({ name: o.name, stream: o.stream }))), JSON.stringify(got.graphOutputs));
        if (expected.checkpoint)
            check('checkpoints: enabled, some written', got.checkpoint.enabled === 'true' &&
                Number(got.checkpoint.written.replace(/,/g, '')) > 0, JSON.stringify(got.checkpoint));
        check('the header counts the completed batches',
            Number(got.completed.replace(/,/g, '')) >= expected.batches.filter((b) => b.status === 'completed').length,
            got.completed);

        await page.screenshot({ path: shotPath });
        check(`screenshot saved (${shotPath})`, fs.statSync(shotPath).size > 1000);

        if (readyPath) {
            fs.writeFileSync(readyPath, 'ready\n');
            try {
                await page.waitForFunction(() => document.body.dataset.conn === 'lost', null, { timeout: 20000 });
                const banner = await page.isVisible('#banner');
                check('once sluice is gone the page says "connection lost"', banner);
            } catch (e) {
                check('once sluice is gone the page says "connection lost" within 20 s', false, e.message.split('\n')[0]);
            }
        }
        check('no request left the page\'s origin', foreign.length === 0, foreign.join(' '));
        // fetch errors after sluice stopped are expected; anything else is not
        const real = errors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to fetch/.test(e));
        check('the page logged no error', real.length === 0, real.join(' | '));
    } finally {
        await browser.close();
    }
    console.log(failures ? `web_page_check: ${failures} check(s) FAILED` : 'web_page_check: all checks passed');
    process.exit(failures ? 1 : 0);
}

main().catch((e) => {
    console.log('FAIL: ' + (e && e.stack ? e.stack : e));
    process.exit(1);
});
