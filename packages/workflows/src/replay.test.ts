/**
 * Determinism: replays recorded histories of every workflow type (src/__fixtures__/histories, recorded from real runs
 * by apps/worker/scripts/record-histories.mjs; index.json holds each run's workflow id) against the current workflow code. A change that would break a
 * running workflow (a command added, removed or reordered) makes its replay fail here with a nondeterminism error.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowsPath } from './index.js';
import * as workflows from './workflows/index.js';

const dir = fileURLToPath(new URL('./__fixtures__/histories/', import.meta.url));
const ids = JSON.parse(readFileSync(`${dir}index.json`, 'utf8')) as Record<string, string>;
const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'index.json');

interface HistoryJson {
  events: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[];
}
const histories = files.map((f) => ({
  workflowId: ids[f.replace(/\.json$/, '')] ?? f,
  history: JSON.parse(readFileSync(`${dir}${f}`, 'utf8')) as HistoryJson,
}));

describe('workflow determinism (replay of recorded histories)', () => {
  it('has a recorded history for every workflow type', () => {
    const recorded = new Set(
      histories.map((h) => h.history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name),
    );
    const types = Object.entries(workflows)
      .filter(([name, fn]) => typeof fn === 'function' && name.endsWith('Workflow'))
      .map(([name]) => name);
    expect(types.length).toBeGreaterThan(0);
    for (const t of types) expect(recorded, `no recorded history of ${t}`).toContain(t);
  });

  it('replays every recorded history without a nondeterminism error', { timeout: 180_000 }, async () => {
    const failures: string[] = [];
    let replayed = 0;
    for await (const r of Worker.runReplayHistories({ workflowsPath: workflowsPath(), replayName: 'strata-replay' }, histories)) {
      replayed += 1;
      if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(histories.length);
  });
});
