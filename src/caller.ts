import type { AccessClaims } from "./oauth/claims";
import type { Principal } from "./policy/types";

/** The authenticated caller of a request: the verified token's claims and the principal they resolve to. */
export interface Caller {
  claims: AccessClaims;
  principal: Principal;
  /** The client's registered name, when it has one (audit only). */
  clientName?: string;
}
