/** RFC 6749 §5.2 / RFC 7591 §3.2.2 error codes this server emits. */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "invalid_scope"
  | "access_denied"
  | "unsupported_response_type"
  | "invalid_target"
  | "invalid_redirect_uri"
  | "invalid_client_metadata"
  | "temporarily_unavailable"
  | "slow_down";

/**
 * A protocol error with a stable code for the wire and a separate reason for the audit log. The description is
 * generic and safe to show; `reason` may name what exactly failed and never goes to the client.
 */
export class OAuthError extends Error {
  constructor(
    readonly errorCode: OAuthErrorCode,
    readonly description: string,
    readonly reason: string = errorCode,
    readonly status: 400 | 401 | 403 | 429 | 503 = errorCode === "invalid_client" ? 401 : errorCode === "slow_down" ? 429 : errorCode === "temporarily_unavailable" ? 503 : 400,
  ) {
    super(description);
  }

  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.errorCode, error_description: this.description };
  }
}
