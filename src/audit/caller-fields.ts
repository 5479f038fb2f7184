import type { Caller } from "../caller";

/** The audit fields every row about a caller's request carries: who, through which client, session and token. */
export function callerFields(caller: Caller) {
  return {
    principal: caller.principal.id,
    principalKind: caller.principal.kind,
    clientId: caller.claims.client_id,
    ...(caller.clientName ? { clientName: caller.clientName.slice(0, 200) } : {}),
    sessionId: caller.claims.sid,
    tokenJti: caller.claims.jti,
    workspace: caller.principal.workspace,
  };
}
