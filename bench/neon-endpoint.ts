import { startNeonEndpoint } from "../local/neon-http/server";

/**
 * The local Neon endpoint in its own process, so `npm run bench` can give its CPU separately from the load
 * generator's. argv: Postgres port, endpoint port. Prints {"url": …} once listening; stops on SIGTERM.
 */
const [pgPort, port] = process.argv.slice(2).map(Number);
const endpoint = await startNeonEndpoint({ port: port!, pgHost: "127.0.0.1", pgPort: pgPort! });
process.stdout.write(`${JSON.stringify({ url: endpoint.url })}\n`);
process.on("SIGTERM", () => void endpoint.close().finally(() => process.exit(0)));
