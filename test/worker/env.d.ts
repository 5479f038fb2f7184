declare namespace Cloudflare {
  interface Env {
    SIGNING_KEY: string;
  }
}
declare module "*?raw" {
  const text: string;
  export default text;
}
