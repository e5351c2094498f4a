/**
 * Masks secrets in a JSON text: the value of every `alertWebhook` (also inside JSON quoted in a string, as in plan
 * reasons) and the password of any `scheme://user:password@host` URL.
 */
export function redactSecrets(json: string): string {
  return json
    .replace(/(\\?"alertWebhook\\?"\s*:\s*\\?")((?:[^"\\]|\\(?!"))*)/g, '$1***')
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s"]+:)[^@\s"/]+@/gi, '$1***@');
}

/** Masks the `key` query parameter of a URL (the run-events route accepts the API key there, for EventSource). */
export function redactUrlKey(url: string): string {
  return url.replace(/([?&]key=)[^&#]*/gi, '$1***');
}
