import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DashboardReader } from './data';

/**
 * `{AwsEndpoint}/_local/dashboard/`: the live dashboard's page, its script and style, Chart.js
 * from node_modules (nothing from a CDN: the page works offline) and `data`, the JSON the page
 * polls. Only GET and HEAD; the page may load scripts, styles and data from this origin only.
 */

export const DASHBOARD_PATH = '/_local/dashboard/';

const STATIC_DIR = fileURLToPath(new URL('./static', import.meta.url));
const CHART_JS_DIST = path.dirname(createRequire(import.meta.url).resolve('chart.js'));

const ASSETS: Record<string, { file: string; type: string }> = {
  '': { file: path.join(STATIC_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  'index.html': { file: path.join(STATIC_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  'app.js': { file: path.join(STATIC_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  'style.css': { file: path.join(STATIC_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  'vendor/chart.umd.min.js': { file: path.join(CHART_JS_DIST, 'chart.umd.min.js'), type: 'text/javascript; charset=utf-8' },
  'vendor/chart.umd.min.js.map': { file: path.join(CHART_JS_DIST, 'chart.umd.min.js.map'), type: 'application/json' },
};

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer, extra: http.OutgoingHttpHeaders = {}, head = false): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...SECURITY_HEADERS, ...extra });
  res.end(head ? undefined : body);
}

export interface DashboardServer {
  /** Answers a request under `/_local/dashboard`; false for any other path. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean>;
}

export function createDashboardServer(reader: DashboardReader): DashboardServer {
  const files = new Map<string, Promise<Buffer>>();
  const asset = (file: string) => {
    let content = files.get(file);
    if (!content) {
      content = readFile(file);
      files.set(file, content);
      content.catch(() => files.delete(file));
    }
    return content;
  };

  return {
    async handle(req, res) {
      const { pathname } = new URL(req.url ?? '/', 'http://local');
      if (pathname !== '/_local/dashboard' && !pathname.startsWith(DASHBOARD_PATH)) return false;
      req.resume();
      const head = req.method === 'HEAD';
      if (req.method !== 'GET' && !head) {
        send(res, 405, 'application/json', JSON.stringify({ error: { code: 'method_not_allowed', message: `${req.method} is not supported on the dashboard: GET` } }), { allow: 'GET, HEAD' });
        return true;
      }
      // Relative links in the page need the trailing slash.
      if (pathname === '/_local/dashboard') {
        send(res, 302, 'text/plain; charset=utf-8', `See ${DASHBOARD_PATH}`, { location: DASHBOARD_PATH }, head);
        return true;
      }
      const name = pathname.slice(DASHBOARD_PATH.length);
      if (name === 'data') {
        const data = await reader.read();
        send(res, 200, 'application/json', JSON.stringify(data), { 'cache-control': 'no-store' }, head);
        return true;
      }
      const known = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
      if (!known) {
        send(res, 404, 'application/json', JSON.stringify({ error: { code: 'not_found', message: `The dashboard has no ${name}` } }), {}, head);
        return true;
      }
      send(res, 200, known.type, await asset(known.file), { 'cache-control': 'no-cache' }, head);
      return true;
    },
  };
}
