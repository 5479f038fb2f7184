/**
 * Failures of work that must not change a response — an audit row for a request that is refused anyway, the
 * completion of a row after the response, a webhook — are logged with what failed instead of being dropped, so
 * `wrangler tail` and Workers Logs show them. Only the error's name and a bounded message are logged: D1 and fetch
 * errors name constraints and statuses, never bound values, tokens or connection strings.
 */
export function logFailure(what: string): (error: unknown) => void {
  return (error) => {
    const reason = error instanceof Error ? `${error.name}: ${error.message.slice(0, 300)}` : typeof error;
    console.error(JSON.stringify({ level: "error", message: "gatehouse: background work failed", what, reason }));
  };
}
