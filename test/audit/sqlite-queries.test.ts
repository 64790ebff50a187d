import { describe } from "vitest";
import { openSqliteIndex } from "../../src/audit/sqlite-index.js";
import { queryCases } from "./query-cases.js";

describe("audit queries on the SQLite index", () => {
  queryCases(() => Promise.resolve(openSqliteIndex(":memory:")));
});
