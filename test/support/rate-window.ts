/**
 * Workers Rate Limiting, as miniflare simulates it, counts in fixed windows aligned to the wall clock
 * (`floor(now / period)`). A test that counts up to a limit must run inside one window: when fewer than
 * `needSeconds` are left in the current one, wait for the next (at most `needSeconds`).
 */
export async function inOneRateWindow(needSeconds: number, periodSeconds = 60): Promise<void> {
  const into = (Date.now() / 1000) % periodSeconds;
  const left = periodSeconds - into;
  if (left < needSeconds) await new Promise((resolve) => setTimeout(resolve, left * 1000 + 100));
}
