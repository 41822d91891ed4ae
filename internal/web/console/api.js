// api.js: calls to the proxy. The token lives in sessionStorage only; it is
// sent in the Authorization header, and in a URL only as a stream's
// access_token, because EventSource cannot send headers.

const TOKEN = "codegen.token";
const ORG = "codegen.org";

export const session = {
  get token() { return sessionStorage.getItem(TOKEN) || ""; },
  set token(v) { v ? sessionStorage.setItem(TOKEN, v) : sessionStorage.removeItem(TOKEN); },
  get org() { return sessionStorage.getItem(ORG) || ""; },
  set org(v) { v ? sessionStorage.setItem(ORG, v) : sessionStorage.removeItem(ORG); },
};

// ApiError is a failed call: the envelope's message, status, code and
// request id, and for a 429 or 503 the Retry-After in seconds.
export class ApiError extends Error {
  constructor(status, body, headers) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.code) || "";
    this.requestId = (body && body.request_id) || (headers && headers.get("X-Request-ID")) || "";
    const retry = headers && headers.get("Retry-After");
    this.retryAfter = retry && /^\d+$/.test(retry) ? Number(retry) : null;
  }
}

// envelopeError returns the ApiError an event stream's error event
// carries (its data is the envelope), or null if data is not one. Such an
// error is marked streamed: the stream goes on and retries by itself.
export function envelopeError(data) {
  try {
    const env = JSON.parse(data);
    if (!env || !env.error) return null;
    const err = new ApiError(env.status_code || 0, env);
    err.streamed = true;
    return err;
  } catch { return null; }
}

// headers returns the headers every call sends.
export function headers(extra) {
  const h = { Accept: "application/json", ...extra };
  if (session.token) h.Authorization = "Bearer " + session.token;
  if (session.org) h["X-Codegen-Org-Id"] = session.org;
  return h;
}

// api calls path and returns the decoded JSON answer, or throws ApiError.
// A network failure is an ApiError with status 0.
export async function api(path, { method = "GET", body, signal } = {}) {
  const init = { method, signal, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, { error: "the proxy could not be reached: " + e.message });
  }
  let data = null;
  try { data = await resp.json(); } catch { /* not JSON */ }
  if (!resp.ok) throw new ApiError(resp.status, data, resp.headers);
  return data;
}

// streamURL is the URL of an event stream at path for EventSource: the
// token as access_token and the organization as org_id.
export function streamURL(path, params = {}) {
  const q = new URLSearchParams(params);
  if (session.org) q.set("org_id", session.org);
  q.set("access_token", session.token);
  return path + "?" + q;
}

// probe asks why the stream at path refused EventSource: it requests it
// with the token in the header and returns the ApiError of a failed
// answer, or null when the stream would open now (it is then closed).
export async function probe(path, params = {}) {
  const q = new URLSearchParams(params);
  if (session.org) q.set("org_id", session.org);
  const ctl = new AbortController();
  try {
    const resp = await fetch(path + "?" + q, { headers: headers({ Accept: "text/event-stream" }), signal: ctl.signal });
    if (resp.ok) { ctl.abort(); return null; }
    let data = null;
    try { data = await resp.json(); } catch { /* not JSON */ }
    return new ApiError(resp.status, data, resp.headers);
  } catch (e) {
    return new ApiError(0, { error: "the proxy could not be reached: " + e.message });
  }
}
