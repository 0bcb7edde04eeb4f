/** How often an app that is starting or restarting is asked again. */
const HTTP_POLL_MS = 25;
/** Bound on one request, so a hung connection is retried rather than waited on. */
const REQUEST_TIMEOUT_MS = 2_000;

/**
 * GETs `url` until the body matches or the deadline passes; the app may be
 * starting or restarting in between (refused, reset, or the old answer).
 */
export async function fetchUntil(url: string, match: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      last = await (await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).text();
      if (match.test(last)) return last;
    } catch (err) {
      last = String(err);
    }
    if (Date.now() > deadline) throw new Error(`${url} never answered ${match} within ${timeoutMs} ms; last: ${last}`);
    await new Promise((r) => setTimeout(r, HTTP_POLL_MS));
  }
}
