import { app } from "./app";
import { scheduled } from "./audit/scheduled";
import { configFor } from "./http/config";
import { instrumentEnv, instrumentFetch, ROUND_TRIPS_REQUEST_HEADER, withRoundTrips } from "./lib/round-trips";

/**
 * `npm run bench` counts round trips (src/lib/round-trips.ts, docs/benchmark.md) only where BENCH_INSTRUMENT is
 * "true" on a loopback PUBLIC_ORIGIN and the request asks for it; otherwise this is one string comparison.
 */
function instrumented(request: Request, env: Env): boolean {
  if (Reflect.get(env, "BENCH_INSTRUMENT") !== "true" || !request.headers.has(ROUND_TRIPS_REQUEST_HEADER)) return false;
  try {
    return configFor(env).loopback;
  } catch {
    return false;
  }
}

export default {
  fetch(request, env, ctx) {
    if (!instrumented(request, env)) return app.fetch(request, env, ctx);
    instrumentFetch(configFor(env).neonLocalEndpoint);
    return withRoundTrips(async () => app.fetch(request, instrumentEnv(env), ctx));
  },
  scheduled,
} satisfies ExportedHandler<Env>;
