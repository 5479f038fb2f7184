// Cancels the statement a pooled connection is running, as Neon does when the HTTP client goes away: a
// CancelRequest (protocol 3.0: length 16, code 80877102, backend pid, secret key) on a fresh socket.
import { connect } from "node:net";
import type { PoolClient } from "pg";

// pg keeps the BackendKeyData of a connection on the client without declaring it in its types.
interface BackendKey {
  processID: number | null;
  secretKey: number | null;
}

export function cancelRunningStatement(client: PoolClient, postgres: { host: string; port: number }): void {
  const { processID, secretKey } = client as unknown as BackendKey;
  if (processID === null || secretKey === null) return;
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80877102, 4);
  packet.writeInt32BE(processID, 8);
  packet.writeInt32BE(secretKey, 12);
  const socket = connect({ host: postgres.host, port: postgres.port }, () => socket.end(packet));
  socket.on("error", () => socket.destroy());
  socket.setTimeout(5_000, () => socket.destroy());
}
