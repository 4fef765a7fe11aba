// Talking to the API: the key (kept in the browser's storage, sent only as a header, never
// in a URL), JSON reads, and a run's event stream read with fetch() so it can carry the key.

import { SseParser } from "./sse.js";

const KEY = "stepcanvas.viewer.key";

// Where the API is: the page is served at <base>/ui/…, whatever stage or domain <base> is.
export function apiBase() {
  const path = window.location.pathname;
  return path.slice(0, path.lastIndexOf("/ui/"));
}

export function storedKey() {
  return window.sessionStorage.getItem(KEY) || window.localStorage.getItem(KEY);
}

// This tab only, unless asked to remember it (then every page of this origin has it).
export function storeKey(key, remember) {
  forgetKey();
  (remember ? window.localStorage : window.sessionStorage).setItem(KEY, key);
}

export function forgetKey() {
  window.sessionStorage.removeItem(KEY);
  window.localStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }

  static async from(response) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.message) message = `${response.status}: ${body.message}`;
    } catch {
      // Not JSON: the status line says it.
    }
    return new ApiError(response.status, message);
  }
}

function headers(extra = {}) {
  const key = storedKey();
  return { ...(key ? { "X-API-Key": key } : {}), ...extra };
}

export async function getJson(path) {
  const response = await fetch(apiBase() + path, {
    headers: headers({ Accept: "application/json" }),
    cache: "no-store",
  });
  if (!response.ok) throw await ApiError.from(response);
  return response.json();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Every chunk of a run's stream, in order, until `workflow_finished`. A stream that ends
// early (a dropped connection, the stream function's time limit) is resumed after the last
// event id received, so no event is missed or repeated. Refusals (4xx) end it.
export async function followRun(path, onChunk) {
  let lastEventId = null;
  let failures = 0;
  for (;;) {
    try {
      const extra = { Accept: "text/event-stream" };
      if (lastEventId) extra["Last-Event-ID"] = lastEventId;
      const response = await fetch(apiBase() + path, { headers: headers(extra), cache: "no-store" });
      if (!response.ok) throw await ApiError.from(response);
      const parser = new SseParser();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const event of parser.feed(value)) {
          if (event.id) lastEventId = event.id;
          if (!event.data) continue;
          const chunk = JSON.parse(event.data);
          failures = 0;
          if (chunk.event === "error") continue; // the stream ends; resume it
          onChunk(chunk);
          if (chunk.event === "workflow_finished") return;
        }
      }
    } catch (error) {
      if (error instanceof ApiError && error.status < 500) throw error;
      failures += 1;
    }
    await sleep(Math.min(250 * 2 ** failures, 5000));
  }
}
