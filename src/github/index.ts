import { createCharterApp } from "./app.js";

/**
 * The module `probot run` loads (npm start). Configuration comes from the environment; see
 * .env.example.
 */
const appId = process.env["APP_ID"] ? Number(process.env["APP_ID"]) : undefined;

export default createCharterApp({ appId });
