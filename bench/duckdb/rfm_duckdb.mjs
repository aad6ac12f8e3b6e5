// DuckDB peer of bench/rfm_bench.cc: the same RFM on the same orders (CSV written by
// `rfm_bench --write_orders=FILE --orders=N`), with the same tie rule — rank by value then customer id
// (ROW_NUMBER), quintile q = max(1, ceil(5·(x−1)/(n−1))), recency reversed — so the checksum
// sum(100·r + 10·f + m) must equal the C++ one. Times: loading the CSV into a table (not compared) and the
// RFM query (compared with BM_RfmFromOrders), one run each after one warm-up query.
//
// Usage: node rfm_duckdb.mjs ORDERS.csv AS_OF_MS [threads]
import { DuckDBInstance } from '@duckdb/node-api';

const [file, asOfMs, threads = '2'] = process.argv.slice(2);
if (!file || !asOfMs) {
  console.error('usage: node rfm_duckdb.mjs ORDERS.csv AS_OF_MS [threads]');
  process.exit(2);
}
const instance = await DuckDBInstance.create(':memory:', { threads });
const db = await instance.connect();

let started = performance.now();
await db.run(`CREATE TABLE orders AS SELECT * FROM read_csv('${file.replaceAll("'", "''")}',
  header = true, columns = {'customer_id': 'BIGINT', 'placed_ms': 'BIGINT', 'amount_minor': 'BIGINT'})`);
const loadMs = performance.now() - started;

const asOf = BigInt(asOfMs);
const query = `
WITH c AS (
  SELECT customer_id,
         GREATEST(0, (${asOf} - max(placed_ms)) // 86400000) AS recency_days,
         count(*) AS frequency,
         sum(amount_minor) AS monetary
  FROM orders GROUP BY customer_id),
n AS (SELECT count(*) AS n FROM c),
ranked AS (
  SELECT customer_id,
         ROW_NUMBER() OVER (ORDER BY recency_days, customer_id) AS xr,
         ROW_NUMBER() OVER (ORDER BY frequency, customer_id) AS xf,
         ROW_NUMBER() OVER (ORDER BY monetary, customer_id) AS xm
  FROM c),
scored AS (
  SELECT 6 - GREATEST(1, CEIL(5 * (xr - 1) / GREATEST(n - 1, 1))::BIGINT) AS r,
         GREATEST(1, CEIL(5 * (xf - 1) / GREATEST(n - 1, 1))::BIGINT) AS f,
         GREATEST(1, CEIL(5 * (xm - 1) / GREATEST(n - 1, 1))::BIGINT) AS m
  FROM ranked, n)
SELECT count(*)::BIGINT AS scored, sum(100 * r + 10 * f + m)::BIGINT AS checksum FROM scored`;

await db.run(query);  // warm-up
started = performance.now();
const reader = await db.runAndReadAll(query);
const queryMs = performance.now() - started;
const [scored, checksum] = reader.getRows()[0];
console.log(JSON.stringify({
  engine: 'duckdb', scored: Number(scored), checksum: Number(checksum), ms: Number(queryMs.toFixed(1)),
  load_ms: Number(loadMs.toFixed(1)), threads: Number(threads),
}));
