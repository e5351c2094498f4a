/**
 * `strata compare --measure`: a short, bounded load on loopback against an online feature server (Strata's, or
 * `feast serve` over the exported registry on the same Redis), POSTing Feast-shaped /get-online-features requests
 * for the team's own views, one at a time per connection. Reports p50/p99 of the request latency.
 */

export interface Measurement {
  system: string;
  url: string;
  requests: number;
  concurrency: number;
  p50Ms: number;
  p99Ms: number;
  /** Requests answered with a status other than 200. */
  errors: number;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/**
 * Sends `requests` requests (cycling through `bodies`) to `${baseUrl}/get-online-features`, `concurrency` at a
 * time, after `warmup` unmeasured ones. Bounded by count; each request also has a 10 s timeout.
 */
export async function measureOnline(
  system: string,
  baseUrl: string,
  bodies: unknown[],
  opts: { requests?: number; concurrency?: number; warmup?: number } = {},
): Promise<Measurement> {
  const requests = opts.requests ?? 400;
  const concurrency = opts.concurrency ?? 4;
  const warmup = opts.warmup ?? 20;
  const url = `${baseUrl.replace(/\/$/, '')}/get-online-features`;
  const texts = bodies.map((b) => JSON.stringify(b));
  let next = 0;
  let errors = 0;
  const times: number[] = [];
  const one = async (i: number, measured: boolean) => {
    const start = performance.now();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: texts[i % texts.length],
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined);
    if (res) await res.arrayBuffer();
    if (!measured) return;
    times.push(performance.now() - start);
    if (res?.status !== 200) errors += 1;
  };
  for (let i = 0; i < warmup; i++) await one(i, false);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < requests; i = next++) await one(i, true);
    }),
  );
  times.sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    system,
    url,
    requests,
    concurrency,
    p50Ms: round(percentile(times, 50)),
    p99Ms: round(percentile(times, 99)),
    errors,
  };
}
