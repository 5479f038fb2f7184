// Reads a request body up to a limit. A larger body is still drained (so the client reads the 413 instead of a
// reset connection) unless it goes on far past the limit, when the connection is dropped.
import type { IncomingMessage } from "node:http";
import { HttpError } from "./errors";

const DRAIN_FACTOR = 4;

export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        if (size > limit * DRAIN_FACTOR) req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (tooLarge) reject(new HttpError(413, `request is too large (max is ${limit} bytes)`));
      else resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", () => reject(new HttpError(400, "could not read the HTTP request body")));
    req.on("close", () => {
      if (!req.complete) reject(new HttpError(400, "could not read the HTTP request body"));
    });
  });
}
