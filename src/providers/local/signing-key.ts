import { createHash, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { CharterError } from "../../errors.js";
import { PROVISIONING_ENV } from "../../provision/config.js";

/** A public key as tool gateways receive it (RFC 8037: OKP, Ed25519). */
export interface Ed25519Jwk {
  readonly kty: "OKP";
  readonly crv: "Ed25519";
  readonly x: string;
  readonly kid: string;
  readonly alg: "EdDSA";
  readonly use: "sig";
}

export interface Jwks {
  readonly keys: readonly Ed25519Jwk[];
}

export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicJwk: Ed25519Jwk;
  readonly kid: string;
}

/**
 * Loads the token signing key: an Ed25519 private key in PKCS#8 PEM, as written by
 * `openssl genpkey -algorithm ed25519`. The key never leaves this object; only its public half
 * is ever printed.
 */
export function loadSigningKey(pem: string | undefined): SigningKey {
  if (pem === undefined) {
    throw new CharterError("MISSING_SECRET", `${PROVISIONING_ENV.signingKey} is not set`, {
      hint: `Set ${PROVISIONING_ENV.signingKey} to an Ed25519 private key in PEM (openssl genpkey -algorithm ed25519).`,
    });
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: "pem" });
  } catch (error) {
    // The message of a failed parse never quotes the key.
    throw new CharterError("INVALID_KEY", `${PROVISIONING_ENV.signingKey} is not a PEM private key`, {
      hint: "Use the PKCS#8 PEM that openssl genpkey -algorithm ed25519 writes.",
      cause: error,
    });
  }
  if (privateKey.asymmetricKeyType !== "ed25519") {
    throw new CharterError("INVALID_KEY", `${PROVISIONING_ENV.signingKey} is a ${privateKey.asymmetricKeyType ?? "unknown"} key, not Ed25519`, {
      hint: "Generate one with openssl genpkey -algorithm ed25519.",
    });
  }
  const x = (createPublicKey(privateKey).export({ format: "jwk" }) as { x?: string }).x;
  if (x === undefined) throw new CharterError("INTERNAL", "could not export the public half of the signing key");
  const kid = jwkThumbprint(x);
  return { privateKey, kid, publicJwk: { kty: "OKP", crv: "Ed25519", x, kid, alg: "EdDSA", use: "sig" } };
}

/** The JWKS document tool gateways fetch to verify tokens. */
export function jwks(key: SigningKey): Jwks {
  return { keys: [key.publicJwk] };
}

/** RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order, base64url. */
function jwkThumbprint(x: string): string {
  return createHash("sha256").update(JSON.stringify({ crv: "Ed25519", kty: "OKP", x })).digest("base64url");
}
