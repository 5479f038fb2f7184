declare namespace Cloudflare {
  interface Env {
    SIGNING_KEY: string;
    BOOTSTRAP_TOKEN: string;
  }
}
declare module "*?raw" {
  const text: string;
  export default text;
}
