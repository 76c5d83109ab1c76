/** What the demo site's routes take and give: plain request data in, a status and body out. */

/** The parts of a request the demo routes read. */
export interface DemoRequest {
  method: string;
  query: URLSearchParams;
  cookies: Record<string, string>;
  /** A URL-encoded POST body. */
  form: URLSearchParams;
}

export interface Answer {
  status: number;
  body?: string | Buffer;
  location?: string;
  type?: string;
  /** `set-cookie` lines. */
  cookies?: string[];
}

export const slugOf = (name: string) => name.toLowerCase().replaceAll(' ', '-');

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

export const json = (value: unknown, status = 200): Answer => ({
  status,
  body: JSON.stringify(value),
  type: 'application/json',
});

export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return cookies;
}
