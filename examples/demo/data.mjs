/**
 * The demo's data and definitions: the talk's tables (generated), the real weather dataset, the bad batch the STRICT
 * policy quarantines, and the repo to apply. Shared by run.mjs and by the web console's browser tests, which load the
 * same data before they open the console.
 */
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { entity, Strata, tableFromRows } from '@strata/sdk';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
// The package exports only its JS entry (build/index.js); its data folder sits beside build/.
export const weatherCsv = join(dirname(require.resolve('vega-datasets')), '..', 'data', 'weather.csv');
export const featuresYaml = join(here, 'features.yaml');

export const user = entity('user', 'user_id', 'INT64', { description: 'a customer' });

/** The columns of all_users_agg_m's table (the talk's monthly aggregates). */
export const USER_FIELDS = [
  { name: 'user_id', valueType: 'INT64' },
  { name: 'dt', valueType: 'UNIX_TIMESTAMP' },
  { name: 'feature_1', valueType: 'DOUBLE' },
  { name: 'feature_2', valueType: 'DOUBLE' },
  { name: 'feature_3', valueType: 'INT32' },
  { name: 'feature_n', valueType: 'DOUBLE' },
];

/** The columns of the weather dataset (daily_weather). */
export const WEATHER_FIELDS = [
  { name: 'location', valueType: 'STRING' },
  { name: 'date', valueType: 'UNIX_TIMESTAMP' },
  { name: 'precipitation', valueType: 'DOUBLE' },
  { name: 'temp_max', valueType: 'DOUBLE' },
  { name: 'temp_min', valueType: 'DOUBLE' },
  { name: 'wind', valueType: 'DOUBLE' },
  { name: 'weather', valueType: 'STRING' },
];

// The talk's tables, generated: monthly aggregates per user, and promo responses per (user, promo).
export function usersTable() {
  const rows = [];
  const months = 12;
  for (let u = 1; u <= 1000; u++) {
    for (let m = 0; m < months; m++) {
      const dt = new Date(Date.UTC(2020, m, 7));
      const seed = (u * 31 + m * 17) % 97;
      rows.push({
        user_id: u,
        dt,
        feature_1: u === 777 && m === 11 ? 88.77 : Math.round((50 + seed + m) * 100) / 100,
        feature_2: Math.round(seed * 1.5 * 100) / 100,
        feature_3: (u + m) % 5,
        feature_n: u === 777 && m === 11 ? 29.01 : Math.round((seed / 3) * 100) / 100,
      });
    }
  }
  return tableFromRows(USER_FIELDS, rows);
}

export function promoTable() {
  const promos = ['AFP99BC', 'SPRING21', 'XMAS20'];
  const channels = ['shop', 'app', 'email'];
  const rows = [];
  for (let u = 1; u <= 1000; u++) {
    for (const [i, promo_id] of promos.entries()) {
      if ((u + i) % 3 === 0) continue;
      rows.push({
        user_id: u,
        promo_id,
        dt: new Date(Date.UTC(2020, 9 + i, 1 + (u % 20))),
        feature_1: (u * (i + 1)) % 4,
        feature_n: channels[(u + i) % 3],
      });
    }
  }
  rows.push({ user_id: 777, promo_id: 'AFP99BC', dt: new Date('2020-12-07T00:00:00Z'), feature_1: 1, feature_n: 'shop' });
  return tableFromRows(
    [
      { name: 'user_id', valueType: 'INT64' },
      { name: 'promo_id', valueType: 'STRING' },
      { name: 'dt', valueType: 'UNIX_TIMESTAMP' },
      { name: 'feature_1', valueType: 'INT64' },
      { name: 'feature_n', valueType: 'STRING' },
    ],
    rows,
  );
}

/** Two weather rows that break daily_weather's suite (precipitation < 0, temp_max 999, weather 'hail'). */
export function badWeatherTable() {
  return tableFromRows(WEATHER_FIELDS, [
    {
      location: 'Seattle',
      date: new Date('2016-01-01T00:00:00Z'),
      precipitation: -3,
      temp_max: 999,
      temp_min: 1,
      wind: 2,
      weather: 'sun',
    },
    {
      location: 'Seattle',
      date: new Date('2016-01-02T00:00:00Z'),
      precipitation: 0,
      temp_max: 8,
      temp_min: 1,
      wind: 2,
      weather: 'hail',
    },
  ]);
}

/** The entity rows of the slides' wide training table: (user, promo, time, label). */
export function trainingEntityRows() {
  return tableFromRows(
    [
      { name: 'user_id', valueType: 'INT64' },
      { name: 'promo_id', valueType: 'STRING' },
      { name: 'event_timestamp', valueType: 'UNIX_TIMESTAMP' },
      { name: 'label', valueType: 'BOOL' },
      // The request data each row was served with: the on-demand view reads it, as online.
      { name: 'basket_value', valueType: 'DOUBLE' },
    ],
    [
      {
        user_id: 777,
        promo_id: 'AFP99BC',
        event_timestamp: new Date('2020-12-07T00:00:00Z'),
        label: true,
        basket_value: 120.5,
      },
      {
        user_id: 777,
        promo_id: 'AFP99BC',
        event_timestamp: new Date('2020-12-06T23:59:59Z'),
        label: false,
        basket_value: 120.5,
      },
      { user_id: 1, promo_id: 'AFP99BC', event_timestamp: new Date('2020-11-15T00:00:00Z'), label: false, basket_value: 30 },
      { user_id: 2, promo_id: 'SPRING21', event_timestamp: new Date('2020-12-20T00:00:00Z'), label: true, basket_value: 55 },
      { user_id: 3, promo_id: 'XMAS20', event_timestamp: new Date('2019-12-20T00:00:00Z'), label: false, basket_value: 10 },
    ],
  );
}

/**
 * The repo to apply: `all_users_agg_m` inferred from its table (like infer_fields_from_df), the rest from
 * features.yaml. Returns the repo and the inferred view.
 */
export async function demoRepo(strata, users = usersTable()) {
  const allUsers = await strata.inferFeatureView(users, {
    name: 'all_users_agg_m',
    entities: [user],
    timestampField: 'dt',
    ttlSeconds: 0, // no limit: monthly aggregates stay valid until the next month replaces them
  });
  const spec = Strata.readSpecFile(featuresYaml);
  return { repo: { ...spec, featureViews: [allUsers, ...spec.featureViews] }, allUsers };
}

/**
 * What the demo ingests, in order: [view, input, options]. The options name each batch's source (what lineage and
 * explain show) by what it is rather than by a path on this machine.
 */
export function demoIngests(users = usersTable()) {
  return [
    ['all_users_agg_m', users, { source: 'generated:monthly-user-aggregates', createdBy: 'demo' }],
    ['promo_features', promoTable(), { source: 'generated:promo-responses', createdBy: 'demo' }],
    ['daily_weather', weatherCsv, { source: 'file:weather.csv', createdBy: 'demo' }],
  ];
}

/** The options of the bad weather batch (badWeatherTable). */
export const BAD_WEATHER = { validationPolicy: 'STRICT', source: 'generated:bad-weather', createdBy: 'demo' };

/** The views the demo materializes to Redis. */
export const DEMO_VIEWS = ['all_users_agg_m', 'promo_features', 'daily_weather'];
