import { type Explanation, parseEntityArgs } from '@strata/sdk';
import type { Command } from 'commander';
import { output, withClient } from '../context.js';

const time = (d: Date | string | null | undefined) =>
  d ? (d instanceof Date ? d.toISOString() : String(d)).replace('.000Z', 'Z') : '-';
const show = (v: unknown) => (v === null || v === undefined ? 'null' : typeof v === 'string' ? v : JSON.stringify(v));

/** The human form of an explanation: the value, then each link of the chain that put it online. */
export function formatExplanation(e: Explanation): string {
  const key = Object.entries(e.entity)
    .map(([k, v]) => `${k}=${show(v)}`)
    .join(' ');
  const lines: string[] = [];
  const feats = e.feature ? [e.feature] : e.features;
  lines.push(`${e.view} (v${e.version}) ${key}`);
  lines.push('');
  lines.push(`online   event time ${time(e.online.eventTime)}`);
  for (const f of feats) {
    const v = e.online.values[f];
    lines.push(`  ${f} = ${v?.status === 'PRESENT' ? show(v.value) : '-'}  ${v?.status ?? 'NOT_FOUND'}`);
  }
  lines.push('');
  if (e.onlineRow) {
    lines.push(
      `online row: commit ${e.onlineRow.commitId}, event time ${time(e.onlineRow.eventTime)}` +
        (e.onlineRow.matchesOnline ? '' : '  (the online store holds a different event time: see below)'),
    );
  } else {
    lines.push(`no row of this entity is materialized yet (watermark: commit ${e.watermark})`);
  }
  if (e.commit)
    lines.push(
      `commit ${e.commit.commitId}: ${e.commit.rows} rows, event time ${time(e.commit.minEventTime)} .. ${time(e.commit.maxEventTime)}, committed ${time(e.commit.committedAt)}`,
    );
  if (e.ingestion) {
    const i = e.ingestion;
    lines.push(`ingestion ${i.id}: ${i.status}, by ${i.createdBy ?? '-'}, source ${i.source ?? '-'}`);
    if (i.workflowId) lines.push(`  run ${i.workflowId}  ${i.url ?? ''}`);
  }
  if (e.validation) {
    const v = e.validation;
    lines.push(
      `validation: ${v.success ? 'passed' : 'FAILED'} ${v.successful}/${v.evaluated} expectations${v.suite ? ` (suite ${v.suite})` : ''}  ${v.link}`,
    );
  } else if (e.ingestion) lines.push('validation: no report (the view has no expectation suite)');
  if (e.materialization) {
    const m = e.materialization;
    lines.push(`materialized by ${m.mode} run ${m.workflowId ?? m.id}, ${m.status} ${time(m.finishedAt)}  ${m.url ?? ''}`);
  } else if (e.onlineRow) lines.push('materialized by: no completed run on record covers this commit');
  lines.push('');
  lines.push(
    `offline rows (${e.offline.total}${e.offline.truncated ? `, newest ${e.offline.rows.length} shown` : ''}, newest first):`,
  );
  lines.push('  commit  event time                created time              in   values');
  for (const r of e.offline.rows) {
    const mark = r.online ? 'ON' : r.materialized ? '  ' : ' >';
    const vals = feats.map((f) => `${f}=${show(r.values[f])}`).join(' ');
    lines.push(
      `  ${String(r.commitId).padStart(6)}  ${time(r.eventTime).padEnd(24)}  ${time(r.createdTime).padEnd(24)}  ${mark}   ${vals}`,
    );
  }
  lines.push('  (ON: the row online;  >: committed after the watermark, not materialized yet)');
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('explain')
    .description(
      "where an entity's value came from: the value online, the offline rows behind it, the commit, ingestion, validation report and materialization run (with their Temporal runs)",
    )
    .argument('<view>', 'feature view name')
    .requiredOption(
      '-e, --entity <key=value>',
      'a join key value (repeat for each join key)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('-f, --feature <name>', 'one feature (default: every feature of the view)')
    .option('--limit <n>', 'offline rows to show (default 20)', (v) => Number(v))
    .action(async (view: string, opts: { entity: string[]; feature?: string; limit?: number }, cmd: Command) => {
      const entity = parseEntityArgs(opts.entity);
      await withClient(cmd, async (strata) => {
        const e = await strata.explain(view, {
          entity,
          ...(opts.feature ? { feature: opts.feature } : {}),
          ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
        });
        output(cmd, e, () => formatExplanation(e));
      });
    });
}
