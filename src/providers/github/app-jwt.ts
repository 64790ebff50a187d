import { createPrivateKey, createSign } from "node:crypto";
import { CharterError } from "../../errors.js";

/**
 * The JSON Web Token a GitHub App signs (RS256 with its private key) to call /app endpoints.
 * It lives under GitHub's ten-minute limit, and its iat is set a minute back for clock skew, as
 * GitHub recommends.
 */
export function appJwt(appId: string, privateKeyPem: string, now: Date): string {
  let key;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch (error) {
    throw new CharterError("INVALID_KEY", "the GitHub App private key is not a PEM private key", { cause: error, hint: "Set PRIVATE_KEY to the app's private key as downloaded from its settings page." });
  }
  if (key.asymmetricKeyType !== "rsa") throw new CharterError("INVALID_KEY", "the GitHub App private key is not an RSA key", { hint: "GitHub App keys are RSA; set PRIVATE_KEY to the key from the app's settings page." });
  const iat = Math.floor(now.getTime() / 1000) - 60;
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${encode({ alg: "RS256", typ: "JWT" })}.${encode({ iat, exp: iat + 9 * 60, iss: appId })}`;
  return `${unsigned}.${createSign("RSA-SHA256").update(unsigned).sign(key, "base64url")}`;
}
