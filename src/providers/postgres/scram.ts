import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";

/**
 * A SCRAM-SHA-256 verifier in PostgreSQL's stored format (RFC 5802/7677). `CREATE ROLE ...
 * PASSWORD` accepts a verifier as is, so the plain password never reaches the server and
 * cannot appear in its statement log or pg_stat_activity. The password must be ASCII (Charter's
 * are base64url), which makes SASLprep the identity.
 */
const ITERATIONS = 4096;

export function scramVerifier(password: string): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, ITERATIONS, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${ITERATIONS}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}
