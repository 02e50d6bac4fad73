/**
 * The retry rules decided on a window's counts (exhaustionOnCounts, nonRetryableOnCounts,
 * stormRateOnCounts) against the full rules on the window's merge: the detector writes the head of
 * the one and the text and evidence of the other, so they must agree on every window.
 */
import { describe, expect, it } from 'vitest';
import { retryPatternsConfigSchema } from './config.js';
import { retryStatsAggregator, type RetryCounts, type RetryStats } from './stats.js';
import { exhaustionOnCounts, judgeExhaustion, judgeNonRetryable, judgeStormRate, nonRetryableOnCounts, stormRateOnCounts, type Held } from './rules.js';
import { countedObservation, observation } from './evidence.js';
import { rng } from '../../test/quality/random.js';

const config = retryPatternsConfigSchema.parse({});

/** Panes with random counts (chains with their exhausted attempts and vain retries), some without chains. */
function panes(rand: () => number, n: number): RetryStats[] {
  return Array.from({ length: n }, (_, i) => {
    const s = retryStatsAggregator.create();
    s.calls = Math.floor(rand() * 40);
    if (rand() < 0.4) return s;
    s.chains = 1 + Math.floor(rand() * 6);
    s.exhausted = Math.floor(rand() * (s.chains + 1));
    s.exhaustedAttempts = s.exhausted * (2 + Math.floor(rand() * 3));
    s.retries = s.chains + Math.floor(rand() * 10);
    s.nonRetryableRetries = Math.floor(rand() * 4);
    s.nonRetryableByClass.set('http_400', s.nonRetryableRetries);
    s.errorClasses.set(i % 2 === 0 ? 'timeout' : 'rate_limit', s.chains);
    s.runs.add(`run-${i % 7}`);
    s.exemplars.exhausted.push({ traceId: `t${i}`, spanId: `s${i}` });
    s.exemplars.any.push({ traceId: `t${i}`, spanId: `s${i}` });
    return s;
  });
}

function windowOf(list: readonly RetryStats[]): { merged: RetryStats; counts: RetryCounts } {
  const merged = retryStatsAggregator.create();
  const summary = retryStatsAggregator.summary!;
  const counts = summary.create();
  for (const p of list) {
    retryStatsAggregator.merge(merged, p);
    summary.add(counts, p);
  }
  return { merged, counts };
}

const helds: Held[] = [{ band: 0.1 }, { was: 'low', band: 0.1 }, { was: 'medium', band: 0.1 }, { was: 'high', band: 0.1 }];
const spec = (name: string, sizeMs: number) => ({ name, sizeMs, paneMs: 10_000 });

describe('retry rules on counts', () => {
  it('state what the full rules state on the merge, and fire exactly when they do', () => {
    const rand = rng(11);
    const fired = { exhaustion: 0, nonRetryable: 0, storm: 0 };
    const quiet = { exhaustion: 0, nonRetryable: 0, storm: 0 };
    for (let trial = 0; trial < 400; trial++) {
      const short = panes(rand, 1 + Math.floor(rand() * 6));
      const before = panes(rand, Math.floor(rand() * 30));
      const w = windowOf(short);
      const long = windowOf([...before, ...short]);
      for (const held of helds) {
        const ex = exhaustionOnCounts(w.counts, config, held);
        const full = judgeExhaustion(w.merged, 'tool', config, held);
        expect(ex === undefined).toBe(full === undefined);
        if (ex !== undefined && full !== undefined) {
          expect([ex.kind, ex.severity, ex.keyMetric, ex.calls]).toEqual([full.kind, full.severity, full.keyMetric, w.merged.calls]);
          fired.exhaustion++;
        } else quiet.exhaustion++;
        const nr = nonRetryableOnCounts(w.counts, config, held);
        const nrFull = judgeNonRetryable(w.merged, 'tool', config, held);
        expect(nr === undefined).toBe(nrFull === undefined);
        if (nr !== undefined && nrFull !== undefined) {
          expect([nr.kind, nr.severity, nr.keyMetric, nr.calls]).toEqual([nrFull.kind, nrFull.severity, nrFull.keyMetric, w.merged.calls]);
          fired.nonRetryable++;
        } else quiet.nonRetryable++;
      }
      const shortRead = { spec: spec('1m', 60_000), acc: w.counts };
      const longRead = { spec: spec('15m', 900_000), acc: long.counts };
      const storm = stormRateOnCounts(shortRead, longRead, config);
      const stormFull = judgeStormRate({ spec: shortRead.spec, acc: w.merged }, longRead, 'tool', config);
      expect(storm === undefined).toBe(stormFull === undefined);
      if (storm !== undefined && stormFull !== undefined) {
        expect([storm.kind, storm.severity, storm.keyMetric]).toEqual([stormFull.kind, stormFull.severity, stormFull.keyMetric]);
        fired.storm++;
      } else quiet.storm++;
    }
    // the inputs reach both sides of every rule
    for (const n of [...Object.values(fired), ...Object.values(quiet)]) expect(n).toBeGreaterThan(10);
  });

  it('write the observation the full rule writes, its text and evidence made when first read', () => {
    const rand = rng(5);
    let compared = 0;
    for (let trial = 0; trial < 200 && compared < 20; trial++) {
      const w = windowOf(panes(rand, 3 + Math.floor(rand() * 8)));
      const head = exhaustionOnCounts(w.counts, config);
      if (head === undefined) continue;
      const subject = { service: 'agent', operation: 'tool' };
      let made = 0;
      const lazy = countedObservation(head, subject, '5m', 1_000, () => {
        made++;
        return judgeExhaustion(w.merged, 'tool', config)!;
      }, () => w.merged.runs);
      expect(made).toBe(0);
      const eager = observation(judgeExhaustion(w.merged, 'tool', config)!, subject, '5m', 1_000, w.merged.runs);
      const fields = (o: typeof eager) => ({ kind: o.kind, subject: o.subject, severity: o.severity, category: o.category, title: o.title, description: o.description, evidence: o.evidence, keyMetric: o.keyMetric, time: o.time, runIds: o.runIds });
      expect(fields(lazy)).toEqual(fields(eager));
      expect(lazy.figures).toEqual({ calls: w.merged.calls });
      expect(made).toBe(1);
      compared++;
    }
    expect(compared).toBe(20);
  });
});
