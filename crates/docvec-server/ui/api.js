// The page's one way to the API: every request goes through `request`, which adds the API key,
// asks for one when the server answers 401, and turns error bodies into Errors carrying the
// server's own message (a 403 `read_only` says why the change is refused).

const KEY_SLOT = "docvec.apiKey";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function currentKey() {
  return sessionStorage.getItem(KEY_SLOT) || "";
}

// auth.rs takes `Authorization: Bearer KEY` or `X-API-Key`; the first is the documented one.
function withKey(headers) {
  const key = currentKey();
  return key ? { ...headers, Authorization: `Bearer ${key}` } : { ...headers };
}

// One prompt at a time: requests that meet a 401 together all wait for the same answer.
let asking = null;
let promptForKey = null;

// `ask(reason)` shows the key prompt and resolves to the key typed, or null when cancelled.
export function onKeyNeeded(ask) {
  promptForKey = ask;
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_SLOT);
}

export function setKey(key) {
  sessionStorage.setItem(KEY_SLOT, key);
}

async function obtainKey(reason) {
  if (!promptForKey) return null;
  if (!asking) {
    asking = promptForKey(reason).finally(() => {
      asking = null;
    });
  }
  const key = await asking;
  if (key) setKey(key);
  return key;
}

async function errorFrom(res) {
  let code = "http_" + res.status;
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = await res.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    // Not JSON (a proxy's page): the status line is all there is to say.
  }
  return new ApiError(res.status, code, message);
}

// fetch() with the key; on 401 asks for a key and tries again with it. Answers the Response (ok).
export async function request(path, { method = "GET", json, body, signal, headers } = {}) {
  for (;;) {
    // The key this try sends: a 401 for a key that has changed since (one typed while this request
    // was out) says nothing about the new key, so it is retried with that key instead of prompting,
    // and the prompt's reason is always about the key the user last typed.
    const sent = currentKey();
    const init = { method, signal, headers: withKey(headers) };
    if (json !== undefined) {
      init.body = JSON.stringify(json);
      init.headers["Content-Type"] = "application/json";
    } else if (body !== undefined) {
      init.body = body;
    }
    const res = await fetch(path, init);
    if (res.ok) return res;
    const err = await errorFrom(res);
    if (res.status !== 401) throw err;
    if (currentKey() !== sent) continue;
    // A FormData body can be sent again as it is; a stream could not, and none is used here.
    const key = await obtainKey(err.message);
    if (!key) throw err;
  }
}

export async function getJson(path, options) {
  return (await request(path, options)).json();
}

export async function getText(path, options) {
  return (await request(path, options)).text();
}

// Follows a server-sent event stream. EventSource cannot send the key (auth.rs reads headers
// only), so the stream is read with fetch and parsed here: blocks split by a blank line, `event:`
// and `data:` fields, `:` comments (the keep-alives) skipped. `onEvent(name, data)` returns true
// to stop reading.
export async function followEvents(path, onEvent, signal) {
  const res = await request(path, { signal, headers: { Accept: "text/event-stream" } });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      buffer += value.replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let name = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") name = text;
          else if (field === "data") data.push(text);
        }
        if (data.length && onEvent(name, data.join("\n"))) return true;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
