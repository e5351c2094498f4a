#!/usr/bin/env node
/**
 * Strata end to end: define (infer a view from a table) -> apply -> ingest with validation -> materialize ->
 * serve online over HTTP -> build point-in-time-correct training sets. Every long step is a Temporal workflow;
 * the last lines point at them in the Temporal Web UI.
 *
 * Needs the local stack (infra/stack.sh up) and a build (pnpm build); `bash infra/demo.sh` does both.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { connect, createPipelineSchedule, formatTable, loadConfig, runPipeline, StrataError, tableFromRows } from '@strata/sdk';
import { startServer } from '@strata/server';
import { serve } from '@strata/serving';
import { createStrataWorker } from '@strata/worker';
import {
  BAD_WEATHER,
  badWeatherTable,
  DEMO_VIEWS,
  demoIngests,
  demoRepo,
  trainingEntityRows,
  user,
  usersTable,
} from './data.mjs';
import { createRawEvents, monthlyPipelineView } from './pipeline.mjs';

/** POSTs JSON with node:http (fetch refuses port 6566, which is on the Fetch standard's list of blocked ports). */
function postJson(url, body) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`HTTP ${res.statusCode}: ${text}`)),
      );
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const step = (n, text) => console.log(`\n\x1b[1m${n}. ${text}\x1b[0m`);
const DAY = 86_400_000;

async function main() {
  const config = loadConfig({ overrides: { project: process.env.STRATA_PROJECT ?? 'demo' } });
  const strata = await connect({ config });
  const worker = await createStrataWorker(config, { logLevel: 'ERROR' });
  const workerRun = worker.worker.run();
  const workflows = [];
  let server;
  let controlPlane;
  try {
    step(1, `Define: infer feature view 'all_users_agg_m' from its table (like infer_fields_from_df), read the rest from YAML`);
    const users = usersTable();
    const { repo, allUsers } = await demoRepo(strata, users);
    console.log(`  inferred: ${allUsers.features.map((f) => `${f.name}: ${f.valueType}`).join(', ')}`);

    step(2, `Apply to the registry (project '${strata.project}')`);
    console.log((await strata.plan(repo)).map((c) => `  ${c.action.padEnd(11)} ${c.kind} ${c.name}`).join('\n'));
    await strata.apply(repo);

    step(3, 'Ingest: stage by COPY, then an ingest workflow validates, profiles and commits atomically');
    const ingests = demoIngests(users);
    for (const [view, input, options] of ingests) {
      // Fixed ingestion ids make the demo idempotent: a second run commits nothing new.
      const h = await strata.ingest(view, input, { ...options, ingestionId: `demo-${strata.project}-${view}-1` });
      const r = await h.result();
      workflows.push(h.workflowId);
      const v = r.validation.validated
        ? `, validation ${r.validation.success ? 'passed' : 'FAILED'} (${r.validation.evaluated} expectations)`
        : '';
      console.log(
        r.alreadyCommitted
          ? `  ${view}: already committed as commit ${r.commitSeq} by an earlier run; nothing new written`
          : `  ${view}: ${r.rows} rows committed as commit ${r.commitSeq}${v}`,
      );
    }

    step(4, 'Validate: a bad weather batch under the STRICT policy is quarantined, nothing is committed');
    const bad = badWeatherTable();
    const badHandle = await strata.ingest('daily_weather', bad, {
      ...BAD_WEATHER,
      ingestionId: `bad-weather-${randomUUID().slice(0, 8)}`,
    });
    workflows.push(badHandle.workflowId);
    try {
      await badHandle.result();
      console.log('  unexpected: the bad batch was committed');
    } catch (err) {
      if (!(err instanceof StrataError) || err.code !== 'VALIDATION_FAILED') throw err;
      console.log(`  rejected (${err.code}): ${err.message}`);
      for (const f of err.details.failed ?? [])
        console.log(`    - ${f.expectation} on ${f.column}: ${f.unexpectedCount} unexpected`);
    }

    step(5, 'Materialize: latest value per entity from Postgres to Redis (a workflow per view)');
    for (const view of DEMO_VIEWS) {
      const h = await strata.materialize(view);
      const r = await h.result();
      workflows.push(h.workflowId);
      console.log(
        `  ${view}: ${r.rowsWritten} entities written online, ${r.rowsSkippedOlder} already current (commits ${r.fromSeq}..${r.toSeq})`,
      );
    }

    step(6, 'Serve: the Feast-compatible HTTP API');
    server = await serve(config, { port: Number(process.env.STRATA_DEMO_PORT ?? 6566) });
    const body = {
      feature_service: 'promo_model_v1',
      entities: { user_id: [777, 1, 123456], promo_id: ['AFP99BC', 'AFP99BC', 'AFP99BC'] },
      // Request data of the on-demand view promo_response (computed now, by the function bundled at apply).
      request_context: { basket_value: [120.5, 30, 10] },
      full_feature_names: true,
    };
    console.log(`  POST ${server.address}/get-online-features ${JSON.stringify(body)}`);
    const online = await postJson(`${server.address}/get-online-features`, body);
    const names = online.metadata.feature_names;
    for (let i = 0; i < body.entities.user_id.length; i++) {
      const cells = names.map(
        (n, c) =>
          `${n}=${JSON.stringify(online.results[c].values[i])}${online.results[c].statuses[i] === 'PRESENT' ? '' : ` (${online.results[c].statuses[i]})`}`,
      );
      console.log(`  ${cells.join('  ')}`);
    }

    const weatherBody = {
      features: ['daily_weather:temp_max', 'daily_weather:weather'],
      entities: { location: ['Seattle', 'Paris'] },
    };
    const weatherOnline = await postJson(`${server.address}/get-online-features`, weatherBody);
    console.log(`  POST ${server.address}/get-online-features ${JSON.stringify(weatherBody)}`);
    for (let i = 0; i < 2; i++) {
      const cells = weatherOnline.metadata.feature_names.map(
        (n, c) => `${n}=${JSON.stringify(weatherOnline.results[c].values[i])} (${weatherOnline.results[c].statuses[i]})`,
      );
      console.log(`  ${cells.join('  ')}`);
    }
    console.log(
      '  (the weather data ends in 2015 and the view has a 2-day TTL: OUTSIDE_MAX_AGE tells a stale value from a missing one)',
    );

    step(7, "Training set: the slides' wide table, point-in-time correct (features as of each row's time)");
    const entityRows = trainingEntityRows();
    const wide = await strata.getHistoricalFeatures({
      featureService: 'promo_model_v1',
      entities: entityRows,
      fullFeatureNames: true,
    });
    console.log(formatTable(wide).replace(/^/gm, '  '));
    console.log(
      '  (promo_response__* are computed per row by the same on-demand function the serving app ran in step 6, on the features as of each row)',
    );

    console.log('\n  ...and on the real dataset: will it rain tomorrow? (weather features as of each day)');
    const days = [];
    for (const location of ['Seattle', 'New York']) {
      for (let d = 0; d < 4; d++)
        days.push({ location, event_timestamp: new Date(Date.parse('2015-06-01T12:00:00Z') + d * DAY) });
    }
    const weatherSet = await strata.getHistoricalFeatures({
      features: ['daily_weather:temp_max', 'daily_weather:precipitation', 'daily_weather:weather'],
      entities: tableFromRows(
        [
          { name: 'location', valueType: 'STRING' },
          { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
        ],
        days,
      ),
    });
    console.log(formatTable(weatherSet).replace(/^/gm, '  '));

    step(8, 'The control plane: the same project through the REST API (what the remote CLI and Python client use)');
    controlPlane = await startServer(config, { port: Number(process.env.STRATA_DEMO_SERVER_PORT ?? config.server.port) });
    const viewsUrl = `${controlPlane.address}/api/v1/projects/${strata.project}/feature-views`;
    const viewsRes = await fetch(viewsUrl);
    const viewsBody = await viewsRes.json();
    console.log(`  strata server on ${controlPlane.address}/api/v1 (OpenAPI: ${controlPlane.address}/api/v1/openapi.json)`);
    console.log(
      `  GET ${viewsUrl} -> ${viewsRes.status} ${
        viewsRes.ok
          ? viewsBody.featureViews.map((v) => `${v.name} v${v.version}`).join(', ')
          : `${viewsBody.error.code} (keys exist: pass one as Authorization: Bearer)`
      }`,
    );
    console.log('  e.g. strata --server ' + controlPlane.address + ' --api-key <key> list; pip install ./clients/python');
    console.log(`  web console (same server, same keys): ${controlPlane.address}/`);

    step(9, "Pipeline: the talk's monthly aggregates computed by SQL from raw events in Postgres, one window per month");
    const eventsSchema = `${strata.project}_events`;
    await createRawEvents(strata.pool, eventsSchema, { users: 1000 });
    await strata.apply({ entities: [user], featureViews: [monthlyPipelineView(eventsSchema)] });
    const pipelineRun = await runPipeline(strata, 'all_users_agg_m_sql');
    workflows.push(pipelineRun.workflowId);
    const pr = await pipelineRun.result();
    console.log(
      `  ${pr.windows} monthly window(s) computed (${pr.committed} committed, ${pr.skipped} already committed by an earlier run), ${pr.rows} rows, watermark ${pr.watermark ?? '-'}`,
    );
    const sched = await createPipelineSchedule(strata, 'all_users_agg_m_sql', { every: '1h', replace: true });
    console.log(
      `  scheduled: ${sched.scheduleId} every ${sched.every} (overlap SKIP; the next month is computed once it is complete)`,
    );
    const agg = await strata.getOnlineFeatures({
      features: ['all_users_agg_m_sql:feature_1', 'all_users_agg_m_sql:feature_3'],
      entities: { user_id: [777] },
    });
    console.log(
      `  online for user 777 (latest month): ${agg.metadata.feature_names.map((n, c) => `${n}=${JSON.stringify(agg.results[c].values[0])}`).join('  ')}`,
    );

    step(10, 'Watch it in the Temporal Web UI');
    const ui = `${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows`;
    console.log(`  ${ui}?query=${encodeURIComponent(`StrataProject="${strata.project}"`)}`);
    for (const id of workflows) console.log(`    ${id}`);
    console.log('  (search attributes StrataProject, StrataFeatureView, StrataStage, StrataRows; memo with row counts)');
    console.log(`\n  Temporal UI: ${ui}`);
    console.log(
      `  Console:     http://${config.server.host}:${config.server.port}/  (\`pnpm strata server\` serves it: views, commits, statistics, drift, lineage, explain)`,
    );
  } finally {
    await controlPlane?.stop();
    await server?.stop();
    worker.worker.shutdown();
    await workerRun.catch(() => {});
    await worker.close();
    await strata.close();
  }
}

main().catch((err) => {
  console.error(err instanceof StrataError ? err.describe() : err);
  process.exit(1);
});
