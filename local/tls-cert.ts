import { createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * A self-signed TLS certificate for one local host name (`npm run dev:deployed` serves
 * https://gatehouse.localhost with it), generated on this machine so its private key never leaves it: wrangler's
 * built-in certificate names only `localhost` and its key ships inside the npm package, so trusting it would trust
 * anyone. Node trusts this one through `NODE_EXTRA_CA_CERTS=<cert.pem>` (a self-signed end-entity certificate is its
 * own trust anchor); a browser shows a warning to click through.
 *
 * The certificate is a minimal X.509 v3 (RFC 5280 §4.1) built with node:crypto: ECDSA P-256 with SHA-256
 * (RFC 5758 §3.2), subjectAltName dNSName (§4.2.1.6, the name clients check), basicConstraints CA:FALSE
 * (§4.2.1.9), keyUsage digitalSignature (§4.2.1.3), extKeyUsage serverAuth (§4.2.1.12).
 */
export interface LocalCertificate {
  keyPath: string;
  certPath: string;
  cert: string;
}

const VALID_DAYS = 365;

/** Reuses the certificate in `dir` while it names `host` and has a week left; otherwise writes a new one. */
export async function loadOrCreateCertificate(dir: string, host: string, now = new Date()): Promise<LocalCertificate> {
  const keyPath = join(dir, "key.pem");
  const certPath = join(dir, "cert.pem");
  if (existsSync(keyPath) && existsSync(certPath)) {
    const cert = await readFile(certPath, "utf8");
    const x509 = new X509Certificate(cert);
    if (x509.checkHost(host) === host && new Date(x509.validTo).getTime() - now.getTime() > 7 * 86_400_000) return { keyPath, certPath, cert };
  }
  const { key, cert } = selfSignedCertificate(host, now);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(keyPath, key, { mode: 0o600 });
  await writeFile(certPath, cert, { mode: 0o644 });
  return { keyPath, certPath, cert };
}

/** A new key pair and a self-signed certificate for `host` (PEM). */
export function selfSignedCertificate(host: string, now = new Date()): { key: string; cert: string } {
  if (!/^[a-z0-9.-]+$/i.test(host)) throw new Error(`not a DNS name: ${host}`);
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const spki = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  const ecdsaWithSha256 = seq(oid("1.2.840.10045.4.3.2"));
  const name = seq(set(seq(oid("2.5.4.3"), tlv(0x0c, Buffer.from(host, "utf8")))));
  const notAfter = new Date(now.getTime() + VALID_DAYS * 86_400_000);
  const extensions = seq(
    extension("2.5.29.19", true, seq()),
    extension("2.5.29.15", true, tlv(0x03, Buffer.from([0x07, 0x80]))),
    extension("2.5.29.37", false, seq(oid("1.3.6.1.5.5.7.3.1"))),
    extension("2.5.29.17", false, seq(tlv(0x82, Buffer.from(host, "ascii")))),
  );
  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // positive (§4.1.2.2)
  const tbs = seq(tlv(0xa0, integer(Buffer.from([2]))), integer(serial), ecdsaWithSha256, name, seq(utcTime(new Date(now.getTime() - 60_000)), utcTime(notAfter)), name, spki, tlv(0xa3, extensions));
  const signature = sign("sha256", tbs, { key: privateKey, dsaEncoding: "der" });
  const der = seq(tbs, ecdsaWithSha256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return { key: privateKey.export({ type: "pkcs8", format: "pem" }) as string, cert: pem("CERTIFICATE", der) };
}

// DER (X.690 §8, §10): definite lengths, minimal encodings.
function tlv(tag: number, value: Buffer): Buffer {
  const n = value.length;
  const len =
    n < 0x80
      ? Buffer.from([n])
      : (() => {
          const bytes: number[] = [];
          for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
          return Buffer.from([0x80 | bytes.length, ...bytes]);
        })();
  return Buffer.concat([Buffer.from([tag]), len, value]);
}
const seq = (...parts: Buffer[]) => tlv(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => tlv(0x31, Buffer.concat(parts));
function integer(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && b[1]! < 0x80) b = b.subarray(1);
  return tlv(0x02, b[0]! >= 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number) as [number, number, ...number[]];
  const out = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}
function utcTime(d: Date): Buffer {
  // UTCTime YYMMDDHHMMSSZ (RFC 5280 §4.1.2.5.1: dates through 2049).
  const s = d.toISOString().replace(/[-:T]/g, "").slice(2, 14);
  return tlv(0x17, Buffer.from(`${s}Z`, "ascii"));
}
function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [Buffer.from([0x01, 0x01, 0xff])] : []), tlv(0x04, value));
}
function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "")}\n-----END ${label}-----\n`;
}
