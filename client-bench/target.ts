// What the client asks the server over plain HTTP on the WebSocket port: /health (reachable?
// which mode?) and /metrics (how many messages did it send?).
import http from 'node:http';

function httpUrl(wsUrl: string, path: string): string {
  const u = new URL(wsUrl);
  return `http://${u.host}${path}`;
}

function get(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () =>
      req.destroy(
        Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }),
      ),
    );
    req.on('error', reject);
  });
}

export type Probe =
  | { reachable: false; error: string }
  | { reachable: true; health: Record<string, unknown> | null; error: string | null };

/** GET /health. Unreachable = no HTTP answer at all (refused, timeout, DNS). */
export async function probeHealth(wsUrl: string, timeoutMs: number): Promise<Probe> {
  let res;
  try {
    res = await get(httpUrl(wsUrl, '/health'), timeoutMs);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { reachable: false, error: `${e.code ?? 'error'}: ${e.message}` };
  }
  if (res.status !== 200)
    return { reachable: true, health: null, error: `GET /health answered ${res.status}` };
  try {
    const h = JSON.parse(res.body) as unknown;
    if (h && typeof h === 'object' && !Array.isArray(h))
      return { reachable: true, health: h as Record<string, unknown>, error: null };
  } catch {
    // fall through
  }
  return { reachable: true, health: null, error: 'GET /health is not a JSON object' };
}

/** Sum of wsbench_server_messages_sent_total over its label sets, or null when unavailable. */
export function parseMessagesSent(text: string): number | null {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith('wsbench_server_messages_sent_total')) continue;
    const rest = line.slice('wsbench_server_messages_sent_total'.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) {
      sum += v;
      found = true;
    }
  }
  return found ? sum : null;
}

export async function readServerSent(wsUrl: string, timeoutMs = 5000): Promise<number | null> {
  try {
    const res = await get(httpUrl(wsUrl, '/metrics'), timeoutMs);
    return res.status === 200 ? parseMessagesSent(res.body) : null;
  } catch {
    return null;
  }
}
