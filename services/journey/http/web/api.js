// The JSON API and the access token. The token lives in sessionStorage: it
// survives a reload but not the tab, and no other site can read it.

const TOKEN_KEY = 'threadline.token';

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function get(path) {
  const headers = {Accept: 'application/json'};
  // An empty token still works against a suite running open on loopback.
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const res = await fetch(path, {headers, cache: 'no-store'});
  let body = {};
  try {
    body = await res.json();
  } catch {
    // A non-JSON body (a proxy's error page): the status says enough.
  }
  if (!res.ok) throw new ApiError(res.status, body.code || '', body.message || res.statusText);
  return body;
}

const enc = encodeURIComponent;

export const findCustomer = (q) => get(`/api/v1/customers?q=${enc(q)}&limit=10`);
export const customerContext = (id) => get(`/api/v1/customers/${enc(id)}/context`);
export const timeline = (id, pageToken = '') =>
  get(`/api/v1/customers/${enc(id)}/timeline?page_size=200&page_token=${enc(pageToken)}`);

// EventSource cannot send headers, so the stream takes the token in the URL.
export function streamUrl(params) {
  const q = new URLSearchParams(params);
  if (token()) q.set('access_token', token());
  return `/api/v1/journey/stream?${q}`;
}
