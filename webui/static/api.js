// api.js: the console's only way to the server, the public REST API.
// The session travels in the HttpOnly cookie set by POST /auth/login;
// every request carries X-Requested-With, which the server demands of
// cookie-authenticated changes (CSRF protection).

const CSRF = { 'X-Requested-With': 'pbx-console' };

/** ApiError is a failed API call: HTTP status, the server's message,
 *  per-field messages ({"number": "already in use"}) and, for a refused
 *  dial plan, its positioned errors ([{line, col, message}]). */
export class ApiError extends Error {
  constructor(status, message, fields, errors) {
    super(message);
    this.status = status;
    this.fields = fields || {};
    this.errors = errors || [];
  }
}

/** api calls /api/v1 + path and returns the decoded JSON (null for 204). */
export async function api(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json', ...CSRF } };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  return send(path, opts);
}

/** getText GETs a text/plain resource: {text, version} where version is
 *  the X-Dialplan-Version header (the dial plan's). */
export async function getText(path) {
  let res;
  try {
    res = await fetch('/api/v1' + path, { credentials: 'same-origin', headers: { Accept: 'text/plain, application/json' } });
  } catch (e) {
    throw new ApiError(0, 'The PBX cannot be reached. Check the network and try again.');
  }
  if (!res.ok) return fail(path, res);
  return { text: await res.text(), version: res.headers.get('X-Dialplan-Version') };
}

/** putText PUTs text as text/plain and returns the decoded JSON answer. */
export async function putText(path, text) {
  return send(path, { method: 'PUT', credentials: 'same-origin',
    headers: { Accept: 'application/json', 'Content-Type': 'text/plain; charset=utf-8', ...CSRF }, body: text });
}

/** upload POSTs a FormData (multipart/form-data: files) to /api/v1 + path
 *  and returns the decoded JSON, failing as api does. */
export async function upload(path, form) {
  return send(path, { method: 'POST', credentials: 'same-origin', headers: { Accept: 'application/json', ...CSRF }, body: form });
}

async function send(path, opts) {
  let res;
  try {
    res = await fetch('/api/v1' + path, opts);
  } catch (e) {
    throw new ApiError(0, 'The PBX cannot be reached. Check the network and try again.');
  }
  if (res.status === 204) return null;
  if (!res.ok) return fail(path, res);
  try {
    return await res.json();
  } catch (e) {
    return null;
  }
}

/** fail throws the ApiError of a failed response. */
async function fail(path, res) {
  let data = null;
  try {
    data = await res.json();
  } catch (e) {
    data = null;
  }
  const msg = (data && data.error) || `request failed (${res.status})`;
  if (res.status === 401 && path !== '/auth/login') {
    window.dispatchEvent(new CustomEvent('pbx:unauthenticated'));
  }
  throw new ApiError(res.status, msg, data && data.fields, data && data.errors);
}

/** query builds "?a=1&b=2" from the non-empty values of obj. */
export function query(obj) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(obj)) {
    if (v !== undefined && v !== null && v !== '') p.set(k, v);
  }
  const s = p.toString();
  return s ? '?' + s : '';
}
