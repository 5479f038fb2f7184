declare module "cloudflare:test" {
  interface ProvidedEnv {
    SIGNING_KEY: string;
  }
}
declare module "*?raw" {
  const text: string;
  export default text;
}
