// Shared by the benchmark helpers of scripts/bench.d: psql queries and the
// latency table (count, min, p50, p90, p99, max, mean in ms).
import { spawnSync } from 'node:child_process';

/** Runs one query with psql against db; rows as arrays of text fields. */
export function psqlRows(db, query) {
  const r = spawnSync('psql', ['-X', '-At', '-F', '\t', '-v', 'ON_ERROR_STOP=1', db, '-c', query],
    { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split('\t'));
}

/** The p-th percentile (nearest rank) of an ascending array. */
export function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** A printer of latency rows whose labels are width characters wide. */
export function table(width) {
  const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-').padStart(9);
  return {
    header(title) {
      console.log(`\n${title}`);
      console.log(`  ${'interval (ms)'.padEnd(width)} ${'n'.padStart(4)} ${['min', 'p50', 'p90', 'p99', 'max', 'mean'].map((s) => s.padStart(9)).join(' ')}`);
    },
    row(label, values) {
      const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
      const mean = v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
      console.log(`  ${label.padEnd(width)} ${String(v.length).padStart(4)} ${f(v[0])} ${f(pct(v, 50))} ${f(pct(v, 90))} ${f(pct(v, 99))} ${f(v[v.length - 1])} ${f(mean)}`);
    },
  };
}
