// GitHub gives up on a GraphQL query that costs too much to run: past its 10-second timeout it
// answers "Something went wrong while executing your query. This may be the result of a
// timeout…" (with HTTP 200 or 502), its gateway may answer 504 first, and its resource limits
// answer RESOURCE_LIMITS_EXCEEDED or MAX_NODE_LIMIT_EXCEEDED errors. The simulator cannot time
// queries the way GitHub's servers do, so cost is counted as aliases: every query with more
// aliased fields than the limit gets the chosen answer.
import { Kind, parse, visit } from "graphql";
import type { SimResponse } from "./http.js";

export const COST_LIMIT_ANSWERS = ["timeout", "timeout-502", "gateway-timeout", "resource-limits", "max-nodes"] as const;
export type CostLimitAnswer = (typeof COST_LIMIT_ANSWERS)[number];

export interface GraphqlCostLimit {
  /** Queries with more aliased fields than this fail; 0 fails every query that has an alias. */
  readonly maxAliases: number;
  readonly answer: CostLimitAnswer;
}

export function checkedCostLimit(limit: GraphqlCostLimit): GraphqlCostLimit {
  if (!Number.isInteger(limit.maxAliases) || limit.maxAliases < 0) throw new Error(`github-sim: maxAliases must be a whole number ≥ 0, got ${String(limit.maxAliases)}`);
  if (!COST_LIMIT_ANSWERS.includes(limit.answer)) throw new Error(`github-sim: answer must be one of ${COST_LIMIT_ANSWERS.join(", ")}, got ${JSON.stringify(limit.answer)}`);
  return { maxAliases: limit.maxAliases, answer: limit.answer };
}

/** Aliased fields in a document (0 for one that does not parse: GitHub's refusal of it comes later). */
export function aliasCount(query: unknown): number {
  if (typeof query !== "string") return 0;
  let count = 0;
  try {
    visit(parse(query), {
      [Kind.FIELD](node) {
        if (node.alias) count++;
      },
    });
  } catch {
    return 0;
  }
  return count;
}

/** GitHub's answer to a query it gave up on, in the shape `limit.answer` names. */
export function costLimitResponse(answer: CostLimitAnswer, requestId: string): SimResponse {
  const timeout = {
    data: null,
    errors: [
      {
        message: `Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug. Please include \`${requestId}\` when reporting this issue.`,
      },
    ],
  };
  switch (answer) {
    case "timeout":
      return { status: 200, body: timeout };
    case "timeout-502":
      return { status: 502, body: timeout };
    case "gateway-timeout":
      return { status: 504, body: { message: "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request and contact us if the problem persists." } };
    case "resource-limits":
      return { status: 200, body: { data: null, errors: [{ type: "RESOURCE_LIMITS_EXCEEDED", message: "This query exceeded the resource limits of a single query. Request fewer objects per query." }] } };
    case "max-nodes":
      return {
        status: 200,
        body: { errors: [{ type: "MAX_NODE_LIMIT_EXCEEDED", path: ["query"], message: "This query requests more possible nodes than the maximum limit of 500,000." }] },
      };
  }
}
