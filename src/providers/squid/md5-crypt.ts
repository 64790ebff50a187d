import { createHash, randomBytes } from "node:crypto";

/**
 * The MD5-based crypt(3) format (`$1$salt$hash`) that squid's bundled basic_ncsa_auth checks
 * without any other library. The passwords Charter hashes are 192 random bits, so what the hash
 * must resist is inversion, not guessing; the file never holds a password in clear.
 */
const ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const MAGIC = "$1$";

export function md5Crypt(password: string, salt: string = newSalt()): string {
  const pw = Buffer.from(password, "utf8");
  const s = Buffer.from(salt, "ascii");
  const md5 = (...parts: Buffer[]): Buffer => createHash("md5").update(Buffer.concat(parts)).digest();
  const alternate = md5(pw, s, pw);
  const first: Buffer[] = [pw, Buffer.from(MAGIC), s];
  for (let left = pw.length; left > 0; left -= 16) first.push(alternate.subarray(0, Math.min(16, left)));
  for (let bits = pw.length; bits > 0; bits >>= 1) first.push((bits & 1) === 1 ? Buffer.alloc(1) : pw.subarray(0, 1));
  let digest = md5(...first);
  for (let round = 0; round < 1000; round++) {
    const parts: Buffer[] = [(round & 1) === 1 ? pw : digest];
    if (round % 3 !== 0) parts.push(s);
    if (round % 7 !== 0) parts.push(pw);
    parts.push((round & 1) === 1 ? digest : pw);
    digest = md5(...parts);
  }
  const d = (i: number): number => digest[i] ?? 0;
  const encoded =
    to64((d(0) << 16) | (d(6) << 8) | d(12), 4) +
    to64((d(1) << 16) | (d(7) << 8) | d(13), 4) +
    to64((d(2) << 16) | (d(8) << 8) | d(14), 4) +
    to64((d(3) << 16) | (d(9) << 8) | d(15), 4) +
    to64((d(4) << 16) | (d(10) << 8) | d(5), 4) +
    to64(d(11), 2);
  return `${MAGIC}${salt}$${encoded}`;
}

function to64(value: number, count: number): string {
  let out = "";
  for (let i = 0; i < count; i++) {
    out += ITOA64[value & 0x3f] ?? "";
    value >>= 6;
  }
  return out;
}

function newSalt(): string {
  return [...randomBytes(8)].map((b) => ITOA64[b & 0x3f] ?? ".").join("");
}

/** What a crypt string Charter writes looks like; anything else in the password file is not Charter's. */
export const MD5_CRYPT = /^\$1\$[./0-9A-Za-z]{8}\$[./0-9A-Za-z]{22}$/;
