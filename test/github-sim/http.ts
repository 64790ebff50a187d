// Response values and error bodies in GitHub's shapes, shared by the REST handlers and the pipeline.

export interface SimResponse {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export const REST_DOCS = "https://docs.github.com/rest";

/**
 * A refusal a handler answers with. `record` says whether it belongs in `sim.rejected`: requests
 * GitHub refuses as malformed or unauthorised do; answers about state (404 for a missing file,
 * 409 for a conflicting merge) do not, because apps legitimately provoke them.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly options: { readonly record?: boolean; readonly extra?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export function notFound(): HttpError {
  return new HttpError(404, "Not Found");
}

/** GitHub's semantic 422: the request parsed but names something that cannot be done. */
export function unprocessable(message: string, errors?: unknown[]): HttpError {
  return new HttpError(422, message, { record: true, ...(errors ? { extra: { errors } } : {}) });
}

export function errorBody(status: number, message: string, documentationUrl: string, extra: Record<string, unknown> = {}) {
  return { message, ...extra, documentation_url: documentationUrl, status: String(status) };
}

function readPaging(query: Readonly<Record<string, unknown>>): { perPage: number; page: number } {
  const perPage = Number(query["per_page"] ?? 30);
  const page = Number(query["page"] ?? 1);
  // GitHub silently caps per_page at 100 and treats page < 1 as the first page.
  return {
    perPage: Math.min(100, Math.max(1, Number.isFinite(perPage) ? Math.floor(perPage) : 30)),
    page: Math.max(1, Number.isFinite(page) ? Math.floor(page) : 1),
  };
}

/** One page of `items`, with the RFC 8288 Link header GitHub sends (prev/next/last/first). */
export function paginate<T>(
  items: readonly T[],
  query: Readonly<Record<string, unknown>>,
  requestUrl: URL,
): { items: T[]; headers: Record<string, string> } {
  const { perPage, page } = readPaging(query);
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  const pageUrl = (n: number): string => {
    const url = new URL(requestUrl);
    url.searchParams.set("per_page", String(perPage));
    url.searchParams.set("page", String(n));
    return url.toString();
  };
  const links: string[] = [];
  if (page > 1) links.push(`<${pageUrl(Math.min(page - 1, lastPage))}>; rel="prev"`);
  if (page < lastPage) links.push(`<${pageUrl(page + 1)}>; rel="next"`, `<${pageUrl(lastPage)}>; rel="last"`);
  if (page > 1) links.push(`<${pageUrl(1)}>; rel="first"`);
  const start = (page - 1) * perPage;
  return {
    items: items.slice(start, start + perPage),
    headers: links.length > 0 ? { link: links.join(", ") } : {},
  };
}
