/**
 * The one way the dashboard talks to the API: same-origin fetch with the session cookie, the CSRF
 * header on writes, JSON in and out, and every failure turned into an ApiError whose message is
 * in words a person can act on.
 */

export type FieldErrors = Record<string, string[]>;

export class ApiError extends Error {
  /** 0 when the server could not be reached at all. */
  readonly status: number;
  /** DRF's field map (`{"sku": ["..."]}`), when the answer was one. */
  readonly fieldErrors: FieldErrors;

  constructor(message: string, status: number, fieldErrors: FieldErrors = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.fieldErrors = fieldErrors;
  }
}

export function getCookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

export function csrfHeaders(): Record<string, string> {
  const token = getCookie("csrftoken");
  return token ? { "X-CSRFToken": token } : {};
}

const STATUS_WORDS: Record<number, string> = {
  400: "The server refused the request.",
  401: "You are signed out. Sign in again.",
  403: "You are not allowed to do this.",
  404: "It is not there any more.",
  409: "This cannot be done in the current state.",
  413: "The file is too large.",
  415: "The server cannot read this kind of file.",
  429: "Too many requests; wait a moment and try again.",
  500: "The server failed. Try again; if it keeps failing, tell an administrator.",
  502: "The server is not answering (bad gateway). Try again in a moment.",
  503: "The service is unavailable right now. Try again in a moment.",
  504: "The server took too long to answer. Try again in a moment.",
};

export const NETWORK_ERROR_MESSAGE =
  "Could not reach the server. Check your connection and try again.";

function isFieldMap(body: unknown): body is Record<string, unknown> {
  return typeof body === "object" && body !== null && !Array.isArray(body);
}

/** Turns a status and a parsed body (or null) into an ApiError with a readable message. */
export function errorFromResponse(status: number, body: unknown): ApiError {
  const fallback = STATUS_WORDS[status] ?? `The server answered with an error (${status}).`;
  if (!isFieldMap(body)) return new ApiError(fallback, status);
  if (typeof body.detail === "string") return new ApiError(body.detail, status);
  const fieldErrors: FieldErrors = {};
  for (const [field, value] of Object.entries(body)) {
    if (Array.isArray(value)) fieldErrors[field] = value.map(String);
    else if (typeof value === "string") fieldErrors[field] = [value];
  }
  const general = fieldErrors.non_field_errors ?? fieldErrors.detail;
  const message = general?.join(" ") ?? Object.values(fieldErrors)[0]?.join(" ") ?? fallback;
  return new ApiError(message, status, fieldErrors);
}

async function parseBody(response: Response): Promise<unknown> {
  const type = response.headers.get("content-type") ?? "";
  if (!type.includes("json")) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  body?: unknown;
  signal?: AbortSignal;
}

export async function apiFetch<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? "GET";
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET") Object.assign(headers, csrfHeaders());
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(NETWORK_ERROR_MESSAGE, 0);
  }
  const body = await parseBody(response);
  if (!response.ok) {
    const error = errorFromResponse(response.status, body);
    if (error.status === 401) onAuthError?.(error);
    throw error;
  }
  return body as T;
}

let onAuthError: ((error: ApiError) => void) | undefined;

/** Called when a request is refused for want of a session (it expired, or someone signed out). */
export function setAuthErrorHandler(handler: ((error: ApiError) => void) | undefined): void {
  onAuthError = handler;
}

export interface Page<T> {
  count: number;
  count_exact?: boolean;
  /** The page's number; null for one counted from the end of a list whose count is an estimate. */
  page?: number | null;
  /** Products only: the search read the search table alone, a few seconds behind an import. */
  search_catching_up?: boolean;
  next: string | null;
  previous: string | null;
  results: T[];
}

/** `?a=1&b=x` from an object, leaving out empty values. */
export function queryString(params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === "") continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
