import { CIMD_LIMITS, cacheSeconds, isJsonContentType, validateDocument, type CimdFailure, type ClientDocument } from "./cimd";

export type DocumentFetch = (url: string, init: RequestInit) => Promise<Response>;

/**
 * Fetches and validates a client's metadata document (draft-ietf-oauth-client-id-metadata-document-03 §5): one GET
 * of exactly the client_id URL, no cookies or credentials, redirects not followed (anything but 200 is a failure,
 * so the document always comes from the URL that names it), a JSON media type, at most CIMD_LIMITS.bodyBytes read
 * and CIMD_LIMITS.timeoutMs in all. The caller has checked the URL (checkDocumentUrl).
 */
export async function fetchClientDocument(
  url: URL,
  nowMs: number,
  opts: { fetch?: DocumentFetch; timeoutMs?: number } = {},
): Promise<{ ok: true; doc: ClientDocument; freshSeconds: number } | CimdFailure> {
  const doFetch = opts.fetch ?? fetch;
  const signal = AbortSignal.timeout(opts.timeoutMs ?? CIMD_LIMITS.timeoutMs);
  let res: Response;
  try {
    res = await doFetch(url.href, { method: "GET", redirect: "manual", signal, headers: { Accept: "application/json" } });
  } catch {
    return { ok: false, reason: signal.aborted ? "fetch_timeout" : "fetch_failed" };
  }
  try {
    if (res.status >= 300 && res.status < 400) return { ok: false, reason: "fetch_redirect" };
    if (res.status !== 200) return { ok: false, reason: `fetch_status_${res.status}` };
    if (!isJsonContentType(res.headers.get("content-type"))) return { ok: false, reason: "fetch_not_json_content_type" };
    const declared = Number(res.headers.get("content-length") ?? "0");
    if (declared > CIMD_LIMITS.bodyBytes) return { ok: false, reason: "doc_too_large" };
    const body = await readCapped(res, CIMD_LIMITS.bodyBytes, signal);
    if (body === "too_large") return { ok: false, reason: "doc_too_large" };
    if (body === "timeout") return { ok: false, reason: "fetch_timeout" };
    if (body === "failed") return { ok: false, reason: "fetch_failed" };
    const checked = validateDocument(body, url.href);
    if (!checked.ok) return checked;
    const fresh = cacheSeconds({ cacheControl: res.headers.get("cache-control"), expires: res.headers.get("expires"), date: res.headers.get("date"), age: res.headers.get("age") }, nowMs);
    return { ok: true, doc: checked.doc, freshSeconds: fresh };
  } finally {
    await res.body?.cancel().catch(() => undefined);
  }
}

/** The body, read until `max` bytes are exceeded (then the rest is never read) or the deadline passes. */
async function readCapped(res: Response, max: number, signal: AbortSignal): Promise<Uint8Array | "too_large" | "timeout" | "failed"> {
  if (!res.body) return new Uint8Array();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) return "too_large";
      chunks.push(value);
    }
  } catch {
    return signal.aborted ? "timeout" : "failed";
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
