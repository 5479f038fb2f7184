import type { Context } from "hono";
import type { AppEnv } from "../env";
import type { GatewayConfig } from "../http/config";
import { clientIpKey } from "../http/client-ip";
import { nowSeconds } from "../lib/clock";
import { recordOAuthEvent, recordOAuthRefusal } from "./audit";
import { checkDocumentUrl } from "./cimd";
import { fetchClientDocument } from "./cimd-fetch";
import { getClient, upsertDocumentClient, type ClientRow } from "./store-d1";
import { logFailure } from "../lib/background";

export type DocumentClient = { ok: true; client: ClientRow } | { ok: false; status: 400 | 429 | 502; message: string };

/**
 * The client named by a metadata-document URL at /authorize: the stored copy while it is fresh, else the document
 * fetched again (at most 10 fetches a minute per IP, RL_10), validated and stored. Any failure is audited with its
 * precise reason (rule `cimd_<reason>`; a successful fetch too, rule `fetched`) and answered with an error page by
 * the caller, never a redirect: without a valid document there is no verified redirect URI to send an error to. A
 * stale copy is not used when the refetch fails.
 */
export async function documentClient(c: Context<AppEnv>, config: GatewayConfig, clientId: string): Promise<DocumentClient> {
  const refuse = async (reason: string, status: 400 | 429 | 502, message: string, outcome: "denied" | "error" | "rate_limited" = "denied"): Promise<DocumentClient> => {
    await recordOAuthRefusal(c, { event: "oauth.client_document", outcome, rule: `cimd_${reason}`, clientId: clientId.slice(0, 512) }).catch(logFailure("client document refusal audit"));
    return { ok: false, status, message };
  };
  const checked = checkDocumentUrl(clientId, { allowLoopback: config.loopback });
  if (!checked.ok) {
    return refuse(
      checked.reason,
      400,
      "The app identifies itself with a client metadata URL this server does not accept: it must be a public https URL with a path, in canonical form, without a fragment or credentials.",
    );
  }
  const now = nowSeconds();
  const stored = await getClient(c.env.DB, clientId);
  if (stored && stored.kind !== "public") return refuse("id_of_another_kind", 400, "This client ID belongs to another kind of client.");
  if (stored && stored.expires_at !== null && stored.expires_at > now) return { ok: true, client: stored };

  const { success } = await c.env.RL_10.limit({ key: `cimd:${clientIpKey(c.req.header("cf-connecting-ip"))}` });
  if (!success) return refuse("rate_limited", 429, "Too many new apps from your network in the last minute. Wait a minute and start again from your app.", "rate_limited");
  const fetched = await fetchClientDocument(checked.url, now * 1000);
  if (!fetched.ok) {
    // Unreachable or failing (try later) versus answered with something that is not a valid document (tell the developer).
    const unreachable = fetched.reason === "fetch_failed" || fetched.reason === "fetch_timeout" || /^fetch_status_5/.test(fetched.reason);
    return refuse(
      fetched.reason,
      unreachable ? 502 : 400,
      unreachable
        ? `The app's client metadata document at ${checked.url.host} could not be fetched. Try again later, or tell the app's developer.`
        : `The app's client metadata document at ${checked.url.host} is not valid, so this app cannot sign in. Tell the app's developer.`,
      unreachable ? "error" : "denied",
    );
  }
  await upsertDocumentClient(c.env.DB, fetched.doc, now, now + fetched.freshSeconds);
  // Like a registration: the name and how long the document is trusted before the next fetch.
  await recordOAuthEvent(c, {
    event: "oauth.client_document",
    outcome: "ok",
    rule: "fetched",
    clientId,
    detail: `${fetched.doc.client_name ?? ""} (fresh ${fetched.freshSeconds} s)`.trim().slice(0, 240),
  });
  const client = await getClient(c.env.DB, clientId);
  if (client?.kind !== "public") return refuse("id_of_another_kind", 400, "This client ID belongs to another kind of client.");
  return { ok: true, client };
}
