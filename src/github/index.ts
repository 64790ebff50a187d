import { createCharterApp } from "./app.js";

/**
 * The module `probot run` loads (npm start). Configuration comes from the environment; see
 * .env.example.
 */
const appId = process.env["APP_ID"] ? Number(process.env["APP_ID"]) : undefined;

// The evidence ledger's signer key, in the Go note signer format (PRIVATE+KEY+…); secret.
const signingKey = process.env["CHARTER_SIGNING_KEY"] || undefined;

export default createCharterApp({ appId, signingKey });
