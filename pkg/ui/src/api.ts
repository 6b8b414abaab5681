// Fetching from the server's /api/v1. URLs are relative to the page, which
// sits one level below the route prefix, so the UI works under any prefix.

/** baseURL is the server's root (route prefix included), without a trailing slash. */
export function baseURL(): string {
  return new URL('.', document.baseURI).href.replace(/\/$/, '');
}

/** APIError carries the API's own error type and message. */
export class APIError extends Error {
  constructor(
    message: string,
    readonly errorType = '',
  ) {
    super(message);
  }
}

export interface APIResult<T> {
  data: T;
  warnings: string[];
  infos: string[];
}

interface Envelope<T> {
  status: 'success' | 'error';
  data: T;
  errorType?: string;
  error?: string;
  warnings?: string[];
  infos?: string[];
}

/** get calls an API endpoint and returns its data, or throws an APIError
 * with the API's message (or the HTTP status when the body is not JSON). */
export async function get<T>(
  path: string,
  params: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<APIResult<T>> {
  const url = new URL(`./api/v1/${path}`, document.baseURI);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const resp = await fetch(url, { signal, headers: { Accept: 'application/json' } });
  let body: Envelope<T>;
  try {
    body = (await resp.json()) as Envelope<T>;
  } catch {
    throw new APIError(`HTTP ${resp.status} ${resp.statusText} from ${url.pathname}`);
  }
  if (body.status !== 'success') {
    throw new APIError(body.error ?? `HTTP ${resp.status}`, body.errorType);
  }
  return { data: body.data, warnings: body.warnings ?? [], infos: body.infos ?? [] };
}
