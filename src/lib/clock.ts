/**
 * The gateway's clock in seconds. In development only, an offset can be set (POST /dev/clock) so end-to-end
 * tests can move past token expiry and session timeouts without sleeping. Production never sets it.
 */
let offsetSeconds = 0;

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000) + offsetSeconds;
}

export function setDevClockOffset(seconds: number): void {
  offsetSeconds = seconds;
}
