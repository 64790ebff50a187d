import { createServer } from "node:net";

/**
 * A loopback port free at the moment of asking. Another process can take it before the caller
 * binds it; redis.ts, for one, starts its server again on a new port when that happens.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("the loopback listener reported no port"));
      });
    });
  });
}
