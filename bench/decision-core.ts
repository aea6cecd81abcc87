/**
 * Throughput and latency of the decision core (`decide`: parse the event, classify, locate, guard, evaluate the
 * policy, plan, serialize) on realistic policies, against the floor of parsing and re-serializing the same JSON.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { parseConfig } from '../lambda/domain/config';
import { decide } from '../lambda/domain/decide';
import { realisticPolicy } from './policies';
import type { Summary } from './stats';
import { summarize } from './stats';

export interface CoreCase {
  readonly size: number;
  readonly actualSize: number;
  readonly outcome: string;
  /** Distinct policy texts (no cache hits) or one text again and again (a burst against one repository). */
  readonly texts: 'distinct' | 'repeated';
  readonly perSecond: number;
  readonly latencyUs: Summary;
  /** JSON.parse + JSON.stringify of the same texts, per second: the floor. */
  readonly baselinePerSecond: number;
}

export interface CoreResult {
  readonly cases: readonly CoreCase[];
  /** Median µs per decision by policy size (distinct texts, fix outcome), 1 KB to 10 KB. */
  readonly scaling: readonly { readonly size: number; readonly medianUs: number }[];
}

const EVENT = JSON.parse(
  readFileSync(
    join(
      __dirname,
      '..',
      'test',
      'fixtures',
      'events',
      'create-function-cross-account-ecr-denied.json'
    ),
    'utf8'
  )
) as unknown;
const CONFIG = parseConfig({ organizationId: 'o-a1b2c3d4e5' }, 'bench');
/** The registry's owner shares the repository with the consumer account, so the cross-account fix is consented. */
const TAGS = { 'lambda-ecr-autofix:share': '222222222222' };
/** More texts than the parse cache holds, so "distinct" never hits it. */
const DISTINCT = 96;

function run(
  texts: readonly string[],
  seconds: number
): { perSecond: number; samples: number[]; outcome: string } {
  const samples: number[] = [];
  let outcome = '';
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  let i = 0;
  const started = process.hrtime.bigint();
  while (process.hrtime.bigint() < deadline) {
    const text = texts[i % texts.length] as string;
    const start = process.hrtime.bigint();
    const decision = decide(EVENT, { policyText: text, tags: TAGS }, CONFIG);
    samples.push(Number(process.hrtime.bigint() - start) / 1e3);
    outcome = decision.outcome;
    i++;
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  return { perSecond: i / elapsed, samples, outcome };
}

function floor(texts: readonly string[], seconds: number): number {
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const started = process.hrtime.bigint();
  let i = 0;
  let sink = 0;
  while (process.hrtime.bigint() < deadline) {
    sink += JSON.stringify(JSON.parse(texts[i % texts.length] as string), null, 2).length;
    i++;
  }
  if (sink < 0) throw new Error('unreachable');
  return i / (Number(process.hrtime.bigint() - started) / 1e9);
}

export function measureDecisionCore(seconds: number): CoreResult {
  // Warm up the JIT on a mid-size policy before measuring.
  run([realisticPolicy({ size: 4096 })], 0.3);
  const cases: CoreCase[] = [];
  for (const size of [2048, 4096, 6144, 8192]) {
    for (const granted of [false, true]) {
      const distinct = Array.from({ length: DISTINCT }, (_, variant) =>
        realisticPolicy({ size, variant, granted })
      );
      for (const texts of ['distinct', 'repeated'] as const) {
        const pool = texts === 'distinct' ? distinct : distinct.slice(0, 1);
        const measured = run(pool, seconds);
        cases.push({
          size,
          actualSize: (pool[0] as string).length,
          outcome: measured.outcome,
          texts,
          perSecond: measured.perSecond,
          latencyUs: summarize(measured.samples),
          baselinePerSecond: floor(pool, seconds / 2),
        });
      }
    }
  }
  const scaling: { size: number; medianUs: number }[] = [];
  for (let kilobytes = 1; kilobytes <= 10; kilobytes++) {
    const pool = Array.from({ length: DISTINCT }, (_, variant) =>
      realisticPolicy({ size: kilobytes * 1000, variant })
    );
    scaling.push({
      size: (pool[0] as string).length,
      medianUs: summarize(run(pool, seconds / 3).samples).median,
    });
  }
  return { cases, scaling };
}
